"""Policy versions are parsed once per distinct document (keyed by content hash), never confused."""

from __future__ import annotations

from pathlib import Path

from airflow_ai_governance.policy import load_policies
from airflow_ai_governance.store import session_scope, upgrade
from airflow_ai_governance.store.registry import current_policy, policy_version, sync_policies

EXAMPLE = Path(__file__).resolve().parents[3] / "dags" / "governance" / "meeting_summaries.yaml"


def _sync(url: str, folder: Path, title: str) -> None:
    folder.mkdir(exist_ok=True)
    text = EXAMPLE.read_text(encoding="utf-8").replace("title: Internal meeting summaries", f"title: {title}")
    assert f"title: {title}" in text
    (folder / "meeting_summaries.yaml").write_text(text, encoding="utf-8")
    with session_scope(url) as session:
        sync_policies(session, load_policies([folder]), actor="gina")


def test_a_version_is_parsed_once_and_new_versions_are_seen(db_url: str, tmp_path: Path) -> None:
    _sync(db_url, tmp_path / "v1", "Meeting summaries, first")
    with session_scope(db_url, readonly=True) as session:
        _, first = current_policy(session, "meeting-summaries")
        _, again = current_policy(session, "meeting-summaries")
    assert again is first  # parsed once
    _sync(db_url, tmp_path / "v2", "Meeting summaries, second")
    with session_scope(db_url, readonly=True) as session:
        row, second = current_policy(session, "meeting-summaries")
        old = policy_version(session, "meeting-summaries", 1)
    assert row.current_version == 2
    assert (second.title, old.title) == ("Meeting summaries, second", "Meeting summaries, first")


def test_same_id_and_version_in_another_database_is_not_confused(db_url: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other)
    _sync(db_url, tmp_path / "a", "Meeting summaries in A")
    _sync(other, tmp_path / "b", "Meeting summaries in B")
    for url, title in ((db_url, "Meeting summaries in A"), (other, "Meeting summaries in B")):
        with session_scope(url, readonly=True) as session:
            assert policy_version(session, "meeting-summaries", 1).title == title
