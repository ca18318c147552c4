"""Tag fields reach the catalog, sort albums by disc and track, filter by folder, and mark copies."""

import json

import numpy as np

from desktop.cli import main as cli_main
from desktop.core.catalog import Catalog
from desktop.core.scan import TAGS_META, scan
from desktop.core.similarity import Query, shape
from desktop.core.store.base import Hit
from tests.formats_audio import tone, write_audio
from tests.tag_writers import FULL, write_tags


def run_scan(catalog, roots):
    return list(scan(catalog, roots))[-1]


def album(root, name, tracks):
    """Files whose tags give (disc, track); written in an order that is not the album order."""
    paths = []
    for disc, number in tracks:
        p = write_audio(root / name / f"z{len(tracks) - len(paths):02d}.flac", tone(0.2))
        write_tags(p, {"title": f"{disc}-{number}", "album": name, "artist": "A", "disc": (disc, 2),
                       "track": (number, 3)})
        paths.append(p)
    return paths


def test_full_tags_are_stored_and_albums_sort_by_disc_then_track(tmp_path):
    music = tmp_path / "music"
    album(music, "Album B", [(2, 1), (1, 3), (1, 1), (2, 2), (1, 2)])
    full = write_audio(music / "Album A" / "full.mp3", tone(0.3))
    write_tags(full, FULL)
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, [music])
    t = cat.by_path(str(full))
    assert (t.album_artist, t.track_number, t.track_total, t.disc_number, t.disc_total) == (
        "The Example Band", 3, 12, 1, 2)
    assert (t.date, t.year, t.compilation, t.has_cover) == ("2003-05-01", 2003, True, True)
    assert (t.mb_recording_id, t.mb_release_id) == (FULL["mb_recording"], FULL["mb_release"])
    assert (t.rg_track_gain, t.rg_track_peak, t.rg_album_gain, t.rg_album_peak) == (-6.54, 0.987654, -7.10, 1.0)
    by_album = [x.title for x in cat.tracks(order="album") if x.album == "Album B"]
    assert by_album == ["1-1", "1-2", "1-3", "2-1", "2-2"]
    by_number = [x.title for x in cat.tracks(order="track_number") if x.album == "Album B"]
    assert by_number == ["1-1", "1-2", "1-3", "2-1", "2-2"]
    assert [x.title for x in cat.tracks(order="track_number", descending=True)][0] == "2-2"


def test_filter_matches_folder_names(tmp_path):
    music = tmp_path / "music"
    p = write_audio(music / "Late Night Sessions" / "take1.flac", tone(0.2))
    write_tags(p, {"title": "Something", "artist": "Someone", "album": "Else", "genre": "Jazz"})
    write_audio(music / "Other" / "take2.flac", tone(0.2))
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, [music])
    assert [t.path for t in cat.tracks(text="night sessions")] == [str(p)]


def test_tracks_json_carries_the_made_up_flag(home, tmp_path, capsys):
    music = tmp_path / "music"
    untagged = write_audio(music / "Some Folder" / "a.flac", tone(0.2))
    tagged = write_audio(music / "Some Folder" / "b.flac", tone(0.2))
    write_tags(tagged, {"title": "B", "artist": "Real Person", "track": (2, 9)})
    assert cli_main(["index", str(music), "--embedder", "spectral", "--home", str(home)]) == 0
    capsys.readouterr()
    assert cli_main(["tracks", "--json", "--home", str(home)]) == 0
    rows = {r["path"]: r for r in json.loads(capsys.readouterr().out)}
    made_up, real = rows[str(untagged)], rows[str(tagged)]
    assert made_up["artist_made_up"] is True and "artist" in made_up["generated"]
    assert made_up["album"] == "Some Folder" and "album" in made_up["generated"]
    assert real["artist_made_up"] is False and real["artist"] == "Real Person" and real["track_number"] == 2


def test_upgrade_reads_tags_of_unchanged_files_once(tmp_path):
    music = tmp_path / "music"
    p = write_audio(music / "Album" / "a.flac", tone(0.2))
    write_tags(p, {"title": "A", "artist": "X", "track": (4, 10)})
    cat = Catalog(tmp_path / "c.sqlite3")
    run_scan(cat, [music])
    tid = cat.by_path(str(p)).id
    cat._run("UPDATE tracks SET track_number=NULL, album_artist='' WHERE id=?", (tid,))  # as an old version left it
    cat.set_meta(TAGS_META, "1")
    again = run_scan(cat, [music])
    assert again.retagged == [tid] and again.unchanged == 1 and again.changed == []
    assert cat.get(tid).track_number == 4
    assert run_scan(cat, [music]).retagged == []


def test_same_musicbrainz_recording_is_a_copy_not_a_hit():
    rec = FULL["mb_recording"]
    q = Query(np.ones(4, np.float32), 1, "h1", "Ann", "Song", 200.0, "q", mb_recording_id=rec)
    hits = [
        Hit(2, 0.95, {"track_id": 2, "title": "Song (remaster)", "artist": "Ann", "file_hash": "h2",
                      "mb_recording_id": rec, "duration": 230.0}),
        Hit(3, 0.90, {"track_id": 3, "title": "Other", "artist": "Bob", "file_hash": "h3",
                      "mb_recording_id": "another", "duration": 100.0}),
        Hit(4, 0.85, {"track_id": 4, "title": "Other again", "artist": "Cy", "file_hash": "h4",
                      "mb_recording_id": "another", "duration": 180.0}),
    ]
    assert [h.track_id for h in shape(hits, q, 10, None)] == [3]
