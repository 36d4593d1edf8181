"""Answer HITL requests of a ``dag.test()`` run from a background thread, as Airflow's REST API does.

``dag.test()`` keeps a run alive while a task waits in ``awaiting_input`` and resumes it when a
response is written to its ``hitl_detail`` row and the task instance is handed its resume event.
This writes exactly what the ``PATCH .../hitlDetails`` route writes (without the HTTP layer and
the assignment check, which the real-Airflow end-to-end tests exercise). Everything under test
(the operator, the gate's rules, the sidecar) is real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    user: str
    chosen: list[str]
    params_input: dict[str, Any] = field(default_factory=dict)
    params_fn: Callable[[str], dict[str, Any]] | None = None  # (run_id) -> params, when the request is open


def _open_request(session: Any, dag_id: str, task_id: str) -> tuple[Any, Any] | None:
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    ti = session.scalars(
        select(TI).where(
            TI.dag_id == dag_id, TI.task_id == task_id, TI.state == TaskInstanceState.AWAITING_INPUT
        )
    ).first()
    if ti is None:
        return None
    detail = session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id)).first()
    if detail is None or detail.response_received:
        return None
    return ti, detail


def _answer_once(dag_id: str, task_id: str, answer: Answer) -> bool:
    from airflow.models.trigger import handle_event_submit
    from airflow.sdk import timezone
    from airflow.triggers.base import TriggerEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        found = _open_request(session, dag_id, task_id)
        if found is None:
            return False
        run_id = found[0].run_id
    params_input = answer.params_fn(run_id) if answer.params_fn else answer.params_input
    with create_session() as session:
        found = _open_request(session, dag_id, task_id)
        if found is None:
            return False
        ti, detail = found
        detail.responded_by = {"id": answer.user, "name": answer.user}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = answer.chosen
        detail.params_input = params_input
        session.add(detail)
        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
    return True


class Responder(threading.Thread):
    """Answer each waiting request of ``task_id`` with the next of ``answers``, in order."""

    def __init__(self, dag_id: str, task_id: str, answers: Sequence[Answer], timeout: float = 270.0) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.task_id, self.answers, self.timeout = dag_id, task_id, list(answers), timeout
        self.given: list[Answer] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        while self.answers and time.monotonic() < deadline:
            answer = self.answers[0]
            try:
                answered = _answer_once(self.dag_id, self.task_id, answer)
            except Exception as exc:  # surfaced by the test; reject so that dag.test() ends
                self.error = exc
                self.answers = [Answer(answer.user, ["Reject"])]
                continue
            if answered:
                self.given.append(self.answers.pop(0))
            time.sleep(0.3)


def run_with_answers(
    dag: Any, task_id: str, answers: Sequence[Answer], **test_kwargs: Any
) -> tuple[Any, Responder]:
    """``dag.test()`` with a responder answering ``task_id``; returns (dag_run, responder)."""
    from airflow.models import import_all_models

    import_all_models()  # before the thread starts: the import lock can deadlock otherwise
    responder = Responder(dag.dag_id, task_id, answers)
    responder.start()
    dag_run = dag.test(**test_kwargs)
    responder.join(timeout=5)
    return dag_run, responder
