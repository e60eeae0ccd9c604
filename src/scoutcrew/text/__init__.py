"""Text every stage shares: words, stopwords, token estimates and BM25 (`measure`), stemmed
content words (`terms`), outside text made safe to print (`untrusted`) and the links a report
may carry (`links`).

Imports nothing else of the package but errors.
"""
