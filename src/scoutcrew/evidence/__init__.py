"""What the models get to read: canonical URLs, duplicates, ranking and the evidence pack.

May import gather's item types and the shared top-level modules; never crewai, the crew or llm.
"""
