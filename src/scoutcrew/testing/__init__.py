"""Test doubles that speak real protocols on 127.0.0.1: a fake Ollama (`fake_ollama`), a fake
SearXNG (`fake_searxng`), and scripted readers and generated news (`scripts`).

May import any stage (it drives whole runs in tests); nothing in the product imports it.
"""
