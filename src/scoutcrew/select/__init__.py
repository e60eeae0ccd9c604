"""Select, no model: canonical URLs, duplicates merged, what is new for the crew, ranking
against its topic, and the evidence pack of [S#] sources (`pack`).

May import gather, store, config, text and errors.
"""
