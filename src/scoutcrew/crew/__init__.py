"""The crewai Crew built from a plan: agents, tasks and the agents' tools.

May import config, gather (for the agents' tools) and llm.
"""
