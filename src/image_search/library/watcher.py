"""The library watcher: notices new, changed, moved and deleted files in the library roots
(``library_roots``) with watchdog and registers them, so new photos and videos get indexed
without a rescan; a periodic reconcile scan catches what notifications miss (network shares,
changes while nothing watched).

- Events (observer thread) only go into a queue. ``tick`` (the watcher's own thread, or the
  CLI's main thread) drains it: moves are applied at once (``ScanService.move``: same asset,
  faces and names, new path); every other event marks its path pending.
- A pending path is applied once no event arrived for ``watch_debounce_seconds`` and its size
  and mtime are the same as when its last event was seen (a copy still running keeps changing
  them: wait). A file is then registered like a scan does (``ScanService.register_paths``), a
  path that is gone marks its asset (or, for a folder, every asset below it) missing, and a new
  folder is walked: its files become pending paths themselves.
- Work found (new, changed or returning files) is handed to a ``WorkScheduler`` right after it
  is registered: the server queues an ``index_pending`` job (``IndexJobScheduler``),
  ``image-search watch`` processes it in-process. Should the process die in between, the next
  start's reconcile finds the files still unhashed and schedules them.
- ``reconcile`` (at start and every ``watch_reconcile_seconds``) re-reads the roots (roots added
  by ``image-search index`` get watched), then rescans them incrementally
  (``ScanService.register_roots``) and schedules work only when the scan found some.

Ignored: the data dir, hidden and system folders, hidden and temporary files (the scanner's
rules, library/scanner.py), and folder modifications (their files report themselves).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from stat import S_ISDIR
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from image_search.config import Settings
from image_search.db.engine import read_only, session_scope
from image_search.jobs.index_job import enqueue_index
from image_search.jobs.runner import JobRunner
from image_search.library.repository import AssetRepository, folder_prefix
from image_search.library.scanner import is_skipped_file, is_skipped_folder, walk_files
from image_search.library.service import PathChange, ScanService

log = logging.getLogger(__name__)

# Event types asked of the observer (inotify's mask follows): opening or reading a file (the
# pipeline does, for every photo) and folder modifications never reach us.
WATCHED_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
]
# Changes logged one by one (without ``on_changes``); more are logged as counts.
LOGGED_CHANGES = 20
# How often ``run`` applies settled changes at most (seconds); at least every debounce.
TICK_SECONDS = 0.25
# A file's signature: (is a folder, size in bytes, mtime in ns); None when the path is gone.
Signature = tuple[bool, int, int] | None


class WorkScheduler(Protocol):
    """Where registered work goes: ``schedule`` is called in the watcher's session after the
    registration, ``committed`` once that session committed."""

    def schedule(self, session: Session) -> None: ...

    def committed(self) -> None: ...


class IndexJobScheduler:
    """The server's scheduler: an ``index_pending`` job (jobs/index_job.py, deduplicated while
    queued), and the index runner woken once it is committed."""

    def __init__(self, runner: JobRunner | None) -> None:
        self.runner = runner

    def schedule(self, session: Session) -> None:
        enqueue_index(session)

    def committed(self) -> None:
        if self.runner is not None:
            self.runner.wake()


@dataclass(slots=True)
class _Pending:
    since: float  # monotonic seconds: the last event, or the last change a check saw
    is_dir: bool  # an event said "folder": when gone, the assets below it go missing too
    signature: Signature  # at ``since``


class _EventSink(FileSystemEventHandler):
    """Observer thread: every event into the queue, nothing else."""

    def __init__(self, events: SimpleQueue[FileSystemEvent]) -> None:
        self.events = events

    def dispatch(self, event: FileSystemEvent) -> None:
        self.events.put(event)


def _signature(path: str) -> Signature:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (S_ISDIR(info.st_mode), info.st_size, info.st_mtime_ns)


def _below(path: str, folder: str) -> bool:
    return path.startswith(folder_prefix(folder))


def _outermost(roots: list[str]) -> list[str]:
    """The roots not inside another one (a recursive watch or scan of those covers all)."""
    return [r for r in roots if not any(_below(r, other) for other in roots)]


class LibraryWatcher:
    """Watches the library roots of ``factory``'s database and registers what changes.

    Use ``start`` then ``run`` (blocking, until a stop event) or ``start_background`` (a thread
    of its own); ``stop`` ends both. ``on_changes`` hears each batch of applied changes
    (without it they are logged at info level).
    """

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        scheduler: WorkScheduler,
        on_changes: Callable[[list[PathChange]], None] | None = None,
    ) -> None:
        self.factory = factory
        self.scheduler = scheduler
        self.on_changes = on_changes
        self.debounce = settings.watch_debounce_seconds
        self.reconcile_seconds = settings.watch_reconcile_seconds
        self.data_dir = str(settings.data_dir.resolve())
        self.roots: list[str] = []  # every library root that is a folder, longest first
        self._events: SimpleQueue[FileSystemEvent] = SimpleQueue()
        self._pending: dict[str, _Pending] = {}
        self._moves: list[tuple[str, str, str, bool]] = []  # (source, target, root, is_dir)
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the observer over every library root (recursive). Events from then on are
        kept; ``reconcile`` catches what changed before."""
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._refresh_roots()

    def start_background(self) -> None:
        """``start``, then ``run`` in a daemon thread (the server's way)."""
        self.start()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name="image-search-watcher", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread (after its current step) and the observer."""
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
            self._observer = None

    def run(self, stop: threading.Event, after_tick: Callable[[], None] | None = None) -> None:
        """Reconcile at once and every ``reconcile_seconds``; apply settled changes every
        ``TICK_SECONDS``; ``after_tick`` after each round (the CLI processes work there). An
        error (the database busy for too long, a bug) is logged and the loop goes on; the
        changes it hit are retried."""
        next_reconcile = 0.0
        tick = min(TICK_SECONDS, max(self.debounce / 2, 0.05))
        while not stop.is_set():
            try:
                if time.monotonic() >= next_reconcile:
                    # A failed reconcile is tried again within a minute.
                    next_reconcile = time.monotonic() + min(self.reconcile_seconds, 60.0)
                    self.reconcile()
                    next_reconcile = time.monotonic() + self.reconcile_seconds
                self.tick()
            except Exception:
                log.exception("the library watcher hit an error; it goes on")
            if after_tick is not None:
                after_tick()
            stop.wait(tick)

    # --- roots ----------------------------------------------------------------------------

    def _refresh_roots(self) -> None:
        """Read ``library_roots`` again and watch the ones not watched yet (a root inside
        another is covered by the outer one's recursive watch)."""
        with session_scope(read_only(self.factory)) as session:
            listed = AssetRepository(session).library_roots()
        roots = sorted((r for r in listed if os.path.isdir(r)), key=len, reverse=True)
        outer = _outermost(roots)
        for gone in set(self._watches) - set(outer):
            if self._observer is not None:
                self._observer.unschedule(self._watches.pop(gone))
        added = [r for r in sorted(outer) if r not in self._watches]
        for root in added:
            if self._observer is None:
                break
            try:
                self._watches[root] = self._observer.schedule(
                    _EventSink(self._events), root, recursive=True, event_filter=WATCHED_EVENTS
                )
            except OSError as exc:  # e.g. the inotify watch limit: the reconcile still scans
                log.warning(
                    "cannot watch %s (%s); its changes are found every %.0f s by rescanning",
                    root,
                    exc.strerror or exc,
                    self.reconcile_seconds,
                )
        if added:
            log.info(
                "watching %d library folder(s) for new, changed, moved and deleted files: %s",
                len(added),
                ", ".join(added),
            )
        for lost in sorted(set(self.roots) - set(roots)):
            log.warning("library folder %s is not available; its files are left as they are", lost)
        self.roots = roots

    def _root_of(self, path: str, is_dir: bool) -> str | None:
        """The library root ``path`` belongs to (the innermost), or None when it lies outside
        every root or is ignored (data dir, hidden or system folder, hidden or temporary
        file)."""
        if path == self.data_dir or _below(path, self.data_dir):
            return None
        for root in self.roots:
            if path != root and not _below(path, root):
                continue
            parts = path[len(root) :].strip("/").split("/") if path != root else []
            folders, name = (parts, None) if is_dir else (parts[:-1], parts[-1] if parts else None)
            if any(is_skipped_folder(part) for part in folders):
                return None
            if name is not None and is_skipped_file(name):
                return None
            return root
        return None

    # --- events ---------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> list[PathChange]:
        """Take the events that arrived, apply moves, then apply the pending paths that have
        settled (``now``: monotonic seconds, default the current time). Returns the changes
        (also given to ``on_changes``)."""
        now = time.monotonic() if now is None else now
        self._drain(now)
        changes = self._apply_moves(now)
        changes += self._apply_settled(now)
        self._report(changes)
        return changes

    def _report(self, changes: list[PathChange]) -> None:
        """To ``on_changes``; without one, to the log (each change, or counts for many)."""
        if not changes:
            return
        if self.on_changes is not None:
            self.on_changes(changes)
        elif len(changes) <= LOGGED_CHANGES:
            for change in changes:
                log.info("%s", describe(change))
        else:
            counts = Counter(change.kind for change in changes)
            log.info("%s", ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))

    @property
    def pending(self) -> int:
        """Paths waiting to settle, plus moves not applied yet."""
        return len(self._pending) + len(self._moves)

    def _drain(self, now: float) -> None:
        touched: dict[str, bool] = {}
        while True:
            try:
                event = self._events.get_nowait()
            except Empty:
                break
            source = os.fsdecode(event.src_path)
            if event.event_type == "moved":
                if not event.is_synthetic:  # a folder's own move covers its content
                    # What came before the move is pending first, so that it moves along.
                    for path, is_dir in touched.items():
                        self._touch(path, is_dir, now)
                    target = os.fsdecode(event.dest_path)
                    touched = self._take_move(source, target, event.is_directory)
                continue
            if event.is_directory and event.event_type not in ("created", "deleted"):
                continue
            if self._root_of(source, event.is_directory) is not None:
                touched[source] = touched.get(source, False) or event.is_directory
        for path, is_dir in touched.items():
            self._touch(path, is_dir, now)

    def _take_move(self, source: str, target: str, is_dir: bool) -> dict[str, bool]:
        """A rename inside the roots becomes a move (applied next); from outside (or from an
        ignored name, like a download's ``.part``) a new path; out of the roots a gone one.
        Returns the paths to mark pending (path -> is a folder)."""
        source_root = self._root_of(source, is_dir)
        target_root = self._root_of(target, is_dir)
        if source_root is not None and target_root is not None:
            self._moves.append((source, target, target_root, is_dir))
            # Paths still settling move along (a file written, then renamed).
            for path in [p for p in self._pending if p == source or _below(p, source)]:
                self._pending[target + path[len(source) :]] = self._pending.pop(path)
            return {}
        if source_root is not None:
            return {source: is_dir}
        if target_root is not None:
            return {target: is_dir}
        return {}

    def _touch(self, path: str, is_dir: bool, now: float) -> None:
        previous = self._pending.get(path)
        is_dir = is_dir or (previous is not None and previous.is_dir)
        self._pending[path] = _Pending(now, is_dir, _signature(path))

    def _settled(self, now: float) -> list[tuple[str, bool, bool]]:
        """Pending paths quiet for the debounce time whose signature did not change since
        their last event, as (path, an event said "folder", is a folder now); a changed one
        (written without events) waits again."""
        ready: list[tuple[str, bool, bool]] = []
        for path, entry in list(self._pending.items()):
            if now - entry.since < self.debounce:
                continue
            signature = _signature(path)
            if signature != entry.signature:
                entry.since, entry.signature = now, signature
                continue
            ready.append((path, entry.is_dir, signature is not None and signature[0]))
            del self._pending[path]
        return ready

    # --- applying -------------------------------------------------------------------------

    def _service(self, session: Session, changes: list[PathChange]) -> ScanService:
        return ScanService(
            session, session.commit, exclude=(Path(self.data_dir),), on_change=changes.append
        )

    def _apply_moves(self, now: float) -> list[PathChange]:
        if not self._moves:
            return []
        changes: list[PathChange] = []
        moves, self._moves = self._moves, []
        session = self.factory()
        try:
            service = self._service(session, changes)
            for index, (source, target, root, is_dir) in enumerate(moves):
                try:
                    moved = service.move(Path(source), Path(target), Path(root))
                except Exception:
                    session.rollback()
                    self._moves = moves[index:] + self._moves
                    raise
                if moved is None or is_dir:
                    # Nothing known there (never registered), or a folder whose files some
                    # other way may not all be known: look at the new place like a new one.
                    self._touch(target, is_dir, now)
        finally:
            session.close()
        return changes

    def _apply_settled(self, now: float) -> list[PathChange]:
        ready = self._settled(now)
        if not ready:
            return []
        changes: list[PathChange] = []
        scheduled = False
        session = self.factory()
        try:
            service = self._service(session, changes)
            files: dict[str, list[Path]] = {}
            for path, was_dir, is_dir in ready:
                root = self._root_of(path, was_dir or is_dir)
                if root is None:
                    continue
                if is_dir:
                    self._take_folder(service, path, now)
                elif path == root:
                    continue  # a root gone (a share offline?): the reconcile decides
                elif was_dir:
                    service.mark_gone_below(Path(path), set())
                files.setdefault(root, []).append(Path(path))
            for root, paths in files.items():
                service.register_paths(Path(root), paths)
            if any(change.needs_processing for change in changes):
                self.scheduler.schedule(session)
                scheduled = True
            session.commit()
        except Exception:
            session.rollback()
            for path, was_dir, _ in ready:  # try them again later
                self._pending.setdefault(path, _Pending(now, was_dir, _signature(path)))
            raise
        finally:
            session.close()
        if scheduled:
            self.scheduler.committed()
        return changes

    def _take_folder(self, service: ScanService, folder: str, now: float) -> None:
        """A folder appeared (or changed as a whole): its files settle as pending paths of
        their own; assets below it whose files are gone are marked missing."""
        present: set[str] = set()
        for entry in walk_files(Path(folder), (Path(self.data_dir),)):
            path = str(entry.path)
            present.add(path)
            if path not in self._pending and self._root_of(path, False) is not None:
                self._touch(path, False, now)
        service.mark_gone_below(Path(folder), present)

    # --- reconcile ------------------------------------------------------------------------

    def reconcile(self) -> list[PathChange]:
        """Re-read the library roots (new ones get watched) and rescan them incrementally:
        whatever notifications missed is registered. Work is scheduled when the scan found
        some, or when registered files still wait for hashing (a run interrupted before its
        job was queued). Returns the changes (also given to ``on_changes``)."""
        self._refresh_roots()
        changes: list[PathChange] = []
        scheduled = False
        session = self.factory()
        try:
            service = self._service(session, changes)
            service.register_roots([Path(root) for root in sorted(_outermost(self.roots))])
            # needing_hash(1): any file registered but not hashed yet.
            if any(change.needs_processing for change in changes) or service.assets.needing_hash(1):
                self.scheduler.schedule(session)
                scheduled = True
            session.commit()
        finally:
            session.close()
        if scheduled:
            self.scheduler.committed()
        self._report(changes)
        return changes


def start_watcher(
    settings: Settings, factory: sessionmaker[Session], runner: JobRunner | None
) -> LibraryWatcher:
    """The server's watcher, started: work goes to ``index_pending`` jobs run by ``runner``."""
    watcher = LibraryWatcher(settings, factory, IndexJobScheduler(runner))
    watcher.start_background()
    return watcher


def describe(change: PathChange) -> str:
    """One line for a change: ``added x``, ``moved a -> b``, ``missing y`` ..."""
    if change.kind == "moved":
        what = f" ({change.count} assets)" if change.count > 1 else ""
        return f"moved {change.old_path} -> {change.path}{what}"
    line = {"found": "back"}.get(change.kind, change.kind) + f" {change.path}"
    return f"{line} (failed: {change.problem})" if change.problem else line
