"""Model calls: the Ollama client, the embedded engine, model specs and chains, the token
ledger and budgets, and the adapter that lets crewai agents call the runtime.

May import config, store, text and errors (and crewai, in `crewai_env` and `crewai_llm`);
never gather, select or a later stage.
"""
