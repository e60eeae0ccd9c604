"""The README's "Add an agent" example (the `critic` agent, its task, the `reviewed` crew), as a
user types it in: shared by the tests and benchmarks/hostile_edges.py."""

from __future__ import annotations

from pathlib import Path

CRITIC_AGENT = """
critic:
  role: Critic
  goal: >-
    Point out what the digest gets wrong or leaves out.
  backstory: >-
    You are a careful, fair editor.
  llm: ollama/qwen3:8b
"""
CRITIQUE_TASK = """
critique:
  description: >-
    Review the digest below for {topic}.
  expected_output: >-
    Three bullet points, each with the [S#] id it is about.
  agent: critic
  context: [write_digest]
  output:
    in_report: true
    heading: Critique
"""
REVIEWED_CREW = """description: The demo digest, reviewed by a critic
agents: [researcher, analyst, writer, critic]
tasks: [collect, analyse, write_digest, critique]
sources:
  feeds: [examples/feeds/lab-notes.xml]
  max_items: 5
inputs:
  topic: local models
"""


def add_the_critic(project: Path) -> Path:
    """Add the README's critic agent, its task and the `reviewed` crew to `project`."""
    for name, extra in (("agents.yaml", CRITIC_AGENT), ("tasks.yaml", CRITIQUE_TASK)):
        path = project / name
        path.write_text(path.read_text() + extra)
    (project / "crews" / "reviewed.yaml").write_text(REVIEWED_CREW)
    return project
