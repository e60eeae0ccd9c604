"""The YAML files, their pydantic models, the resolved plan and the project folder.

Imports nothing from the stages of a run (gather, evidence, llm, crew, report, schedule, scale).
"""
