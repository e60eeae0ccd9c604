"""The crewai Crew built from a plan: agents, tasks and the agents' tools.

May import llm, gather (for the agents' tools), config, text and errors, and crewai.
"""
