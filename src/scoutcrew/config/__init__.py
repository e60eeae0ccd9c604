"""The YAML files, their pydantic models, the resolved plan and the project folder.

May import errors and text only: the configuration knows no stage of a run.
"""
