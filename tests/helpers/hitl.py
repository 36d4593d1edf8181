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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    user: str
    chosen: list[str]
    params_input: dict[str, Any] = field(default_factory=dict)


def _answer_once(dag_id: str, task_id: str, answer: Answer) -> bool:
    from sqlalchemy import select

    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance as TI
    from airflow.models.trigger import handle_event_submit
    from airflow.triggers.base import TriggerEvent
    from airflow.utils import timezone
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = session.scalars(
            select(TI).where(TI.dag_id == dag_id, TI.task_id == task_id, TI.state == TaskInstanceState.AWAITING_INPUT)
        ).first()
        if ti is None:
            return False
        detail = session.scalars(select(HITLDetail).where(HITLDetail.ti_id == ti.id)).first()
        if detail is None or detail.response_received:
            return False
        detail.responded_by = {"id": answer.user, "name": answer.user}
        detail.responded_at = timezone.utcnow()
        detail.chosen_options = answer.chosen
        detail.params_input = answer.params_input
        session.add(detail)
        handle_event_submit(TriggerEvent(detail.as_resume_event_payload()), task_instance=ti, session=session)
    return True


class Responder(threading.Thread):
    """Answer each waiting request of ``task_id`` with the next of ``answers``, in order."""

    def __init__(self, dag_id: str, task_id: str, answers: Sequence[Answer], timeout: float = 120.0) -> None:
        super().__init__(daemon=True)
        self.dag_id, self.task_id, self.answers, self.timeout = dag_id, task_id, list(answers), timeout
        self.given: list[Answer] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        try:
            while self.answers and time.monotonic() < deadline:
                if _answer_once(self.dag_id, self.task_id, self.answers[0]):
                    self.given.append(self.answers.pop(0))
                time.sleep(0.3)
        except BaseException as exc:  # surfaced by the test
            self.error = exc


def run_with_answers(dag: Any, task_id: str, answers: Sequence[Answer], **test_kwargs: Any) -> tuple[Any, Responder]:
    """``dag.test()`` with a responder answering ``task_id``; returns (dag_run, responder)."""
    from airflow.models import import_all_models

    import_all_models()  # before the thread starts: the import lock can deadlock otherwise
    responder = Responder(dag.dag_id, task_id, answers)
    responder.start()
    dag_run = dag.test(**test_kwargs)
    responder.join(timeout=5)
    return dag_run, responder


