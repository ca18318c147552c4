"""What the window does with user actions and job results (a mixin of `MainWindow`).

* The similar pane follows the selected or the playing track, whichever changed last; a query goes
  to the library thread and only the newest answer is shown. A track that is not indexed yet shows
  that state and is queried again as soon as the indexer reports it.
* A drop adds folders and audio files to the library, or (on the similar pane, or with Ctrl/Alt
  held) searches by the dropped file without adding it. Anything unusable is listed, by name and
  reason, in the non-modal notice bar.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer

from desktop.core.errors import SoundalikeError
from desktop.core.scan import is_audio_path
from desktop.core.track import Track
from desktop.ui.jobs import error_text
from desktop.ui.transport import NowPlaying

DIRTY_FLUSH_MS = 100
INDEX_PROBLEMS = "Some files could not be indexed"
DROP_PROBLEMS = "Some dropped items were not used"


def drop_problem(path: str, by_example: bool) -> str:
    """Why a dropped path cannot be used ('' when it can)."""
    if not os.path.exists(path):
        return "no such file or folder"
    if os.path.isdir(path):
        return "a folder cannot be searched by example; drop one audio file" if by_example else ""
    if not is_audio_path(path):
        ext = os.path.splitext(path)[1] or "no extension"
        return f"not a supported audio file ({ext})"
    if os.path.getsize(path) == 0:
        return "the file is empty"
    return ""


class WindowActions:
    """Mixin: expects the attributes MainWindow builds (session, model, table, similar, ...)."""

    def _init_actions(self) -> None:
        self.similar_target: int | str | None = None
        self._similar_token: int | None = None
        self._awaiting_index: int | None = None
        self._selected_id: int | None = None
        self._dirty: list = []  # TrackDone events not yet shown in the table
        self._dirty_timer = QTimer(self)
        self._dirty_timer.setSingleShot(True)
        self._dirty_timer.setInterval(DIRTY_FLUSH_MS)
        self._dirty_timer.timeout.connect(self._flush_dirty)

    # -- startup ---------------------------------------------------------------------------------------
    def start(self, files=()) -> None:
        """After the first paint: load the embedder in the background, resume indexing, open files."""
        self.session.load_embedder()
        if self.session.catalog.counts()["pending"]:
            self.session.index_pending()
        files = [os.path.abspath(f) for f in files or ()]
        if files:
            self.open_files(files)
        else:
            self._restore_last_track()

    def _restore_last_track(self) -> None:
        item = self.ui_settings.value("last_item")
        if item in (None, ""):
            return
        item = int(item) if str(item).isdigit() else str(item)
        if isinstance(item, int):
            row = self.model.row_of(item)
            if row is None:
                return
            self.table.select_row(row)
        elif not os.path.exists(item):
            return
        self.playback.load_item(item, float(self.ui_settings.value("last_position", 0.0) or 0.0))

    def open_files(self, paths: list[str]) -> None:
        """Files named on the command line: play audio files (not added), add folders."""
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if not os.path.isdir(p)]
        if folders:
            self.add_paths(folders)
        ok = [p for p in files if not drop_problem(p, True)]
        bad = [f"{os.path.basename(p)}: {drop_problem(p, True)}" for p in files if p not in ok]
        if bad:
            self.notices.add("Some files could not be opened", bad)
        if ok:
            self.playback.play_items(ok)
            self.show_similar(ok[0])

    # -- playing -----------------------------------------------------------------------------------
    def resolve_item(self, item) -> NowPlaying:
        if isinstance(item, int):
            t = self.session.catalog.get(item)
        else:  # a file outside the library
            from desktop.core.tags import read_tags

            t = Track(id=0, path=item, **read_tags(item))
        return NowPlaying(item, t.path, t.title, t.artist, t.id or None, t.duration, t.artist_generated)

    def play_row(self, row: int) -> None:
        ids = self.model.ids()
        if 0 <= row < len(ids):
            self.playback.play_items(ids, row)

    def play_hit(self, index: int) -> None:
        hits = self.similar.hits
        if 0 <= index < len(hits):
            self.playback.play_items([h.track_id for h in hits], index)

    def on_current_changed(self, now: NowPlaying | None) -> None:
        self.transport.set_now_playing(now)
        if now is None:
            self.waveform.set_peaks(None)
            self.waveform.set_message("No track playing")
            return
        self.setWindowTitle(f"{now.title} — {now.artist} · Soundalike")
        self.waveform.set_peaks(None, now.duration)
        self.waveform.set_message("Drawing waveform…")
        self.session.request_peaks(now.path)
        if now.track_id is not None:
            self.show_similar(now.track_id)

    def on_peaks(self, path: str, peaks) -> None:
        now = self.playback.current
        if now is not None and now.path == path:
            self.waveform.set_peaks(peaks)

    # -- the similar pane ------------------------------------------------------------------------------
    def on_row_selected(self, row: int) -> None:
        tid = self.model.track_id(row)
        if tid is not None and tid != self._selected_id:
            self._selected_id = tid
            self.show_similar(tid)

    def reselect_after_reset(self) -> None:
        """After the id list was reloaded, keep the same track selected (if it is still listed)."""
        row = self.model.row_of(self._selected_id) if self._selected_id is not None else None
        if row is not None:
            QTimer.singleShot(0, lambda: self.table.select_row(row))

    def show_similar(self, target: int | str, force: bool = False) -> None:
        if target == self.similar_target and not force:
            return
        self.similar_target = target
        self._awaiting_index = None
        pane = self.similar
        if isinstance(target, int):
            try:
                track = self.session.catalog.get(target)
            except SoundalikeError as e:
                pane.set_query("")
                pane.show_message(str(e))
                return
            pane.set_query(f"{track.title} — {track.artist}")
            if track.status != "indexed":
                self.session.cancel_similar()
                self._show_not_indexed(track)
                return
        else:
            tracked = self.session.catalog.by_path(os.path.abspath(target))
            title = f"{tracked.title} — {tracked.artist}" if tracked else \
                f"{os.path.basename(target)}  (dropped file, not in the library)"
            pane.set_query(title, example_path=target)
        pane.show_loading()
        self._similar_token = self.session.request_similar(target)

    def _show_not_indexed(self, track) -> None:
        if track.status == "failed":
            self.similar.show_message(f"This track could not be indexed:\n{track.error}")
            return
        self._awaiting_index = track.id
        if self.session.busy:
            self.similar.show_message("Not indexed yet — indexing…")
        else:
            self.similar.show_message("Not indexed yet.\nIndexing resumes on the next start, or use "
                                      "File → Rescan library.")

    def on_similar_ready(self, token: int, hits) -> None:
        if token != self._similar_token:
            return
        if not hits and self.session.busy:
            self.similar.show_message("No similar tracks yet: the library is still being indexed…")
        else:
            self.similar.show_hits(hits)

    def on_similar_failed(self, token: int, exc) -> None:
        if token != self._similar_token:
            return
        from desktop.core.similarity import NotIndexed

        target = self.similar_target
        if isinstance(exc, NotIndexed) and isinstance(target, int):
            self._show_not_indexed(self.session.catalog.get(target))
            return
        self.similar.show_message(error_text(exc))
        if isinstance(target, str):
            self.notices.add("Could not search by this file", [f"{os.path.basename(target)}: {error_text(exc)}"])

    # -- drops ---------------------------------------------------------------------------------------------
    def handle_drop(self, paths: list[str], modifiers, target: str) -> None:
        mods = Qt.KeyboardModifier(modifiers) if not isinstance(modifiers, Qt.KeyboardModifier) else modifiers
        by_example = target == "similar" or bool(mods & (Qt.ControlModifier | Qt.AltModifier))
        usable, problems = [], []
        for p in paths:
            why = drop_problem(p, by_example)
            if why:
                problems.append(f"{os.path.basename(p.rstrip(os.sep)) or p}: {why}")
            else:
                usable.append(os.path.abspath(p))
        if by_example and len(usable) > 1:
            problems += [f"{os.path.basename(p)}: only one file at a time can be searched by" for p in usable[1:]]
            usable = usable[:1]
        if problems:
            self.notices.add(DROP_PROBLEMS, problems)
        if not usable:
            return
        if by_example:
            self.show_similar(usable[0], force=True)
        else:
            self.add_paths(usable)

    def add_paths(self, paths: list[str]) -> None:
        self.session.add_paths(paths)
        names = ", ".join(os.path.basename(p.rstrip(os.sep)) for p in paths[:3])
        self.statusBar().showMessage(f"Adding {names}{' …' if len(paths) > 3 else ''}", 4000)

    # -- job results -------------------------------------------------------------------------------------
    def on_job_started(self, job) -> None:
        self.index_status.start("Scanning…" if job.name in ("add", "rescan") else "Indexing…")
        if self._awaiting_index is not None:
            self.similar.show_message("Not indexed yet — indexing…")

    def on_track_done(self, ev) -> None:
        self._dirty.append(ev)
        if not self._dirty_timer.isActive():
            self._dirty_timer.start()
        if not ev.ok:
            self.notices.add(INDEX_PROBLEMS, [f"{os.path.basename(ev.path)}: {ev.error}"])
        if ev.track_id == self._awaiting_index:
            self.show_similar(ev.track_id, force=True)

    def _flush_dirty(self) -> None:
        results, self._dirty = self._dirty, []
        self.model.apply_results(results)

    def on_scan_done(self, summary) -> None:
        if summary.added or summary.changed or summary.removed:
            self.model.reload()
        if summary.problems:
            self.notices.add("Some items could not be added", [f"{p}: {why}" for p, why in summary.problems])
        if summary.added:
            self.statusBar().showMessage(f"Added {len(summary.added)} tracks; indexing them…", 5000)

    def on_index_done(self, summary) -> None:
        self._flush_dirty()
        if summary.indexed and isinstance(self.similar_target, int):
            self.show_similar(self.similar_target, force=True)  # hits found mid-run may be incomplete
        if summary.cancelled:
            self.statusBar().showMessage(f"Indexing cancelled after {summary.indexed} tracks; "
                                         "the rest is indexed next time", 8000)
        elif summary.indexed or summary.failed:
            self.statusBar().showMessage(f"Indexed {summary.indexed} tracks in {summary.seconds:.1f} s"
                                         + (f", {len(summary.failed)} failed" if summary.failed else ""), 8000)

    def on_idle(self) -> None:
        self.index_status.finish()
        self._flush_dirty()
        if self._awaiting_index is not None:
            self.show_similar(self._awaiting_index, force=True)
