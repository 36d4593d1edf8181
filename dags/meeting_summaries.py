"""Tier 1: summarise internal meeting transcripts with an LLM (common-ai), lightly governed.

data boundary (e-mails and phones redacted) -> LLM summary -> output standard. No human approval:
the tier-1 policy does not require one. Offline by default (see ``example_support.offline_models``).
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import dag, task
from pydantic import BaseModel

from airflow_ai_governance import governed_workflow
from airflow_ai_governance.examples.offline_models import offline, summariser_model

TRANSCRIPT = str(Path(__file__).parent / "example_data" / "meetings" / "weekly-platform-2026-11-23.txt")


class MeetingSummary(BaseModel):
    meeting_id: str
    summary: str
    action_items: int


@dag(schedule=None, catchup=False, tags=["ai-governance", "production", "tier-1"], doc_md=__doc__)
def meeting_summaries() -> None:
    @task.governed_llm(
        use_case="meeting-summaries",
        llm_conn_id="aigov_llm",
        system_prompt="Summarise the meeting: decisions first, then count the action items.",
        output_type=MeetingSummary,
        model=summariser_model() if offline() else None,
    )
    def summarise(transcript: str) -> str:
        return f"TRANSCRIPT:\n{transcript}"

    flow = governed_workflow("meeting-summaries", files=[TRANSCRIPT], ai_task=summarise)

    @task
    def publish(summary: dict) -> str:
        print(f"Posting to the team wiki: {summary['meeting_id']}: {summary['summary']}")
        return summary["meeting_id"]

    publish(flow.output)


meeting_summaries()
