"""The operations a person performs, each one transaction.

``App`` holds the store, the workflow registry, the clock and the acting
login. Every method resolves the actor, opens exactly one transaction, makes
one engine call and returns plain data. The CLI is a thin layer over this;
tests and the demo use it directly.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping, Optional

from engine import audit, processes, records, runtime, views
from engine import settings as settings_mod
from engine.clock import SystemClock
from engine.db import Store
from engine.errors import NotFound
from engine.permissions import Actor, require, resolve
from engine.registry import Registry


class App:
    def __init__(self, store: Store, registry: Optional[Registry] = None, clock=None, login: str = "",
                 outbox: Optional[Path] = None):
        self.store = store
        self._registry = registry
        self.clock = clock or SystemClock()
        self.login = login
        self.outbox = outbox or Path("outbox")

    @classmethod
    def from_env(cls, clock=None) -> "App":
        from engine import config

        cfg = config.load()
        return cls(Store(cfg.database_url, config_keys(cfg)), clock=clock, login=config.current_login(),
                   outbox=cfg.outbox)

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from engine.registry import default

            self._registry = default()
        return self._registry

    def as_user(self, login: str) -> "App":
        return App(self.store, self._registry, self.clock, login, self.outbox)

    def now(self) -> datetime:
        return self.clock.now()

    def _actor(self, session, for_party: Optional[int] = None, via: Optional[str] = None) -> Actor:
        return resolve(session, self.login, for_party=for_party, via=via, now=self.now())

    # -- setup ------------------------------------------------------------------

    def init(self, admin_login: str, admin_name: str, key_file=None) -> dict[str, Any]:
        """Create or upgrade the schema, make the key if there is none, add the first admin."""
        from engine import crypto, schema

        created_key = None
        if self.store._keys is None and key_file is not None:
            self.store._keys = [crypto.create_key_file(key_file)]
            created_key = str(key_file)
        before, after = schema.upgrade(self.store)
        schema.restrict_file(self.store)
        schema.store_key_check(self.store)
        with self.store.write() as session:
            admin = records.bootstrap_admin(session, admin_login, admin_name, self.now()) if admin_login else None
        return {"schema_before": before, "schema": after, "key_file_created": created_key,
                "admin_created": admin.login if admin else None}

    # -- staff, cases, parties ---------------------------------------------------

    def add_staff(self, login: str, name: str, role: str, email: Optional[str] = None,
                  partner: Optional[int] = None) -> dict[str, Any]:
        """Add a staff member; with ``partner``, a member of that community partner's staff, who may
        use only what the partner's agreement in force grants."""
        with self.store.write() as s:
            staff = records.add_staff(s, self._actor(s), login, name, role, self.now(), email, partner)
            return {"login": staff.login, "role": staff.role, "partner": staff.partner_id}

    def list_staff(self) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return records.list_staff(s, self._actor(s))

    def open_case(self, case_number: str, supervised_person: str, officer: str, time_zone: str,
                  ipv: bool = False) -> dict[str, Any]:
        with self.store.write() as s:
            case = records.open_case(s, self.store.vault, self._actor(s), case_number=case_number,
                                     supervised_person=supervised_person, officer_login=officer,
                                     time_zone=time_zone, now=self.now(), ipv=ipv)
            return records.case_view(s, case, self.now())

    def transfer_case(self, case_number: str, officer: Optional[str] = None, time_zone: Optional[str] = None) -> dict[str, Any]:
        with self.store.write() as s:
            case = records.transfer_case(s, self._actor(s), case_number, self.now(), officer_login=officer,
                                         time_zone=time_zone)
            return records.case_view(s, case, self.now())

    def set_supervision_end(self, case_number: str, ends_on: Optional[date]) -> dict[str, Any]:
        with self.store.write() as s:
            case = records.set_supervision_end(s, self._actor(s), case_number, self.now(), ends_on)
            return records.case_view(s, case, self.now())

    def set_safety(self, case_number: str, ipv: Optional[bool] = None, misconduct: Optional[bool] = None,
                   order: Optional[tuple[str, date, Optional[date]]] = None) -> dict[str, Any]:
        with self.store.write() as s:
            case = records.set_safety(s, self._actor(s), case_number, self.now(), ipv=ipv,
                                      misconduct=misconduct, order=order)
            return records.case_view(s, case, self.now())

    def show_case(self, case_number: str) -> dict[str, Any]:
        """The case as this reader may see it: parties only for victim-facing roles,
        and only the processes whose definitions admit the reader."""
        with self.store.read() as s:
            actor = self._actor(s)
            return views.show_case(s, self.store.vault, self.registry.definition, actor, case_number, self.now())

    def show_case_zone(self, case_number: str) -> str:
        """The case's time zone (for reading local times typed by a person)."""
        with self.store.read() as s:
            self._actor(s)
            return records.case_by_number(s, case_number).time_zone

    def timeline(self, case_number: str) -> dict[str, Any]:
        from engine.timeline import timeline

        with self.store.read() as s:
            return timeline(s, self.registry, self._actor(s), case_number)

    def list_cases(self) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return records.list_cases(s, self._actor(s), self.now())

    def add_party(self, case_number: str, kind: str, name: str, **details) -> dict[str, Any]:
        with self.store.write() as s:
            party = records.add_party(s, self.store.vault, self._actor(s), case_number=case_number, kind=kind,
                                      name=name, now=self.now(), **details)
            return {"id": party.id, "kind": party.kind, "case_number": case_number}

    def show_party(self, party_id: int) -> dict[str, Any]:
        with self.store.read() as s:
            return records.show_party(s, self.store.vault, self._actor(s), party_id)

    def list_parties(self, case_number: str) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return views.list_parties(s, self.store.vault, self._actor(s), case_number)

    def explain_confidentiality(self, party_id: int, method: str) -> dict[str, Any]:
        """Record that you explained the limits of confidentiality to a victim-side party."""
        from engine import confidentiality

        with self.store.write() as s:
            return confidentiality.record(s, self._actor(s), party_id, method, self.now())

    def confidentiality(self, party_id: int) -> list[dict[str, Any]]:
        """When, how and by whom the limits of confidentiality were explained to a party."""
        from engine import confidentiality

        with self.store.read() as s:
            return confidentiality.records(s, self._actor(s), party_id)

    # -- processes ---------------------------------------------------------------

    def start(self, case_number: str, workflow: str, for_party: Optional[int], via: Optional[str] = None,
              params: Optional[Mapping[str, Any]] = None, document: Optional[str] = None) -> dict[str, Any]:
        with self.store.write() as s:
            out = runtime.start(s, self.store.vault, self.registry, case_number=case_number, workflow=workflow,
                                actor=self._actor(s, for_party, via), now=self.now(), params=params,
                                document=document)
            return _outcome(out)

    def send(self, process_id: int, event: str, for_party: Optional[int] = None, via: Optional[str] = None,
             params: Optional[Mapping[str, Any]] = None, expected_version: Optional[int] = None,
             document: Optional[str] = None) -> dict[str, Any]:
        with self.store.write() as s:
            out = runtime.apply(s, self.store.vault, self.registry, process_id=process_id, event=event,
                                actor=self._actor(s, for_party, via), now=self.now(), params=params,
                                expected_version=expected_version, document=document)
            return _outcome(out)

    def act(self, process_id: int, workflow: str, event: str, *, by: Optional[str] = None,
            for_party: Optional[int] = None, via: Optional[str] = None, params: Optional[Mapping[str, Any]] = None,
            expected_version: Optional[int] = None) -> dict[str, Any]:
        """A domain verb: ``event`` on a process of ``workflow``, acting for ``by`` ("victim": the
        victim-side party who started it; "offender": the person under supervision) unless a
        ``for_party`` is named; in one transaction."""
        with self.store.write() as s:
            process = processes.of_workflow(s, self.registry, self._actor(s), process_id, workflow)
            if by is not None and for_party is None:
                for_party = processes.party_for_side(s, process, by)
            out = runtime.apply(s, self.store.vault, self.registry, process_id=process_id, event=event,
                                actor=self._actor(s, for_party, via), now=self.now(), params=params,
                                expected_version=expected_version)
            return _outcome(out)

    def read_document(self, process_id: int, kind: str, version: Optional[int] = None) -> dict[str, Any]:
        """A process's text (a letter), for roles that may read the process; the read is audited."""
        from engine import documents

        with self.store.write() as s:
            actor = self._actor(s)
            process = runtime.load_process(s, process_id)
            runtime.check_readable(self.registry.get(process.workflow, process.workflow_version).workflow, actor,
                                   process_id)
            document, text = documents.read(s, self.store.vault, process_id, kind, actor, self.now(), version)
            return {"process": process_id, "kind": kind, "version": document.version, "text": text,
                    "written_by": document.created_by, "at": document.created_at.isoformat()}

    def show_process(self, process_id: int) -> dict[str, Any]:
        with self.store.read() as s:
            return processes.show(s, self.registry, self._actor(s), process_id)

    def list_processes(self, case_number: str, workflow: Optional[str] = None) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return processes.list_for_case(s, self.registry, self._actor(s), case_number, workflow)

    def history(self, process_id: int) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return processes.history(s, self.registry, self._actor(s), process_id)

    def next_events(self, process_id: int) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return processes.next_events(s, self.registry, self._actor(s), process_id, self.now())

    # -- workflows, settings, audit -------------------------------------------------

    def workflows(self) -> list[dict[str, Any]]:
        return workflow_rows(self.registry)

    def settings(self) -> dict[str, str]:
        with self.store.read() as s:
            return settings_mod.load(s, self.registry)

    def set_setting(self, key: str, value: str) -> None:
        with self.store.write() as s:
            settings_mod.set_value(s, self.registry, self._actor(s), key, value, self.now())

    def verify_audit(self) -> dict[str, Any]:
        with self.store.read() as s:
            require(self._actor(s), "audit.verify")
            problems = [str(p) for p in audit.verify(s)]
            return {"entries": audit.count(s), "ok": not problems, "problems": problems}

    def reseal(self, batch: int = 500, progress=None) -> dict[str, Any]:
        """Seal every stored secret under the newest key (``engine.rekey``), recorded on the audit trail
        (counts only) once it is done."""
        from engine import rekey

        with self.store.read() as s:
            require(self._actor(s), "key.rotate")
        result = rekey.reseal(self.store, batch, progress)
        with self.store.write() as s:
            audit.append(s, at=self.now(), actor=self._actor(s), action="key.reseal",
                         detail={"resealed": result["resealed"]})
        return result

    def sealed_rows(self) -> dict[str, int]:
        from engine import rekey

        with self.store.read() as s:
            require(self._actor(s), "key.rotate")
        return rekey.counts(self.store)

    def fire_due(self):
        from engine.firing import fire_due

        return fire_due(self.store, self.registry, self.now())

    def run_until(self, until: datetime):
        from engine.firing import run_until

        return run_until(self.store, self.registry, self.clock, until)


def config_keys(cfg):
    from engine.crypto import read_keys

    return read_keys(cfg.key, cfg.key_file)


def workflow_rows(registry: Registry) -> list[dict[str, Any]]:
    """The installed definitions (no database needed)."""
    return [{"name": c.workflow.name, "version": c.workflow.version, "title": c.workflow.title,
             "victim_initiated": c.workflow.victim_initiated, "states": len(c.workflow.state_names),
             "readers": sorted(c.workflow.readers)} for c in registry.all()]


def _outcome(out: runtime.Outcome) -> dict[str, Any]:
    """What happened; the states and version only for an actor who may read the process."""
    result = {"process": out.process.id, "event": out.event, "notices": len(out.notices)}
    if out.readable:
        result.update({"from": out.from_state, "to": out.to_state, "version": out.process.version})
    return result


__all__ = ["App", "NotFound"]
