"""Model calls: the Ollama client, the embedded engine, the runtime with its chains and
ledger, and the adapter that lets crewai agents call it.

May import config and the shared top-level modules; not gather, evidence or report.
"""
