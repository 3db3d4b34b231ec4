"""Upload file names cannot leave the upload directory (hypothesis + the classic attacks by name)."""

from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.uploads import MAX_NAME_BYTES, safe_upload_name, safe_upload_path

ATTACKS = {
    "../../etc/passwd": "passwd",
    "..\\..\\Windows\\System32\\drivers\\etc\\hosts": "hosts",
    "/etc/shadow": "shadow",
    "C:\\Users\\x\\预案.docx": "预案.docx",
    "C:预案.pdf": "C_预案.pdf",
    "..": "upload",
    "...": "upload",
    ".": "upload",
    "": "upload",
    ".bashrc": "bashrc",
    "a\x00.txt.pdf": "a.txt.pdf",
    "ev\x01il\x1f\x7f.md": "evil.md",
    "报告\u202egpj.exe": "报告gpj.exe",  # right-to-left override would show "exe.jpg"
    "本省地质灾害应急预案（2024年修订）.pdf": "本省地质灾害应急预案（2024年修订）.pdf",
    "  spaced  name .txt ": "spaced name.txt",
    "CON.txt": "_CON.txt",
    "nul": "_nul",
    "a/b/../../c.txt": "c.txt",
    "report.pdf.": "report.pdf",
    'a<b>c:d"e|f?g*h.md': "a_b_c_d_e_f_g_h.md",
}


@pytest.mark.parametrize(("given_name", "expected"), list(ATTACKS.items()))
def test_known_attacks_are_reduced_to_a_plain_name(tmp_path, given_name, expected):
    path = safe_upload_path(tmp_path, given_name)
    assert path.parent == tmp_path
    assert path.name == expected


def test_collisions_get_a_numbered_suffix_and_a_dangling_symlink_counts_as_taken(tmp_path):
    made = []
    for _ in range(5):
        path = safe_upload_path(tmp_path, "预案.pdf")
        with open(path, "xb") as handle:  # exclusive create, as the web upload does
            handle.write(b"x")
        made.append(path.name)
    assert made == ["预案.pdf", "预案-1.pdf", "预案-2.pdf", "预案-3.pdf", "预案-4.pdf"]
    outside = tmp_path.parent / "outside-target.txt"
    (tmp_path / "link.txt").symlink_to(outside)  # dangling: writing through it would escape
    assert safe_upload_path(tmp_path, "link.txt").name == "link-1.txt"
    assert not outside.exists()
    print(f"collisions: {len(made)} uploads of one name → {len(set(made))} distinct files")


def test_long_chinese_names_are_cut_on_a_character_boundary_and_keep_the_extension():
    name = safe_upload_name("地质灾害" * 100 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= MAX_NAME_BYTES
    assert name.startswith("地质灾害地质灾害")


def _is_safe(uploads: Path, path: Path) -> None:
    assert path.parent == uploads
    name = path.name
    assert name and name not in (".", "..") and not name.startswith(".")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name)
    assert len(name.encode()) <= MAX_NAME_BYTES + 8
    assert path.resolve().parent == uploads.resolve()


NAMES = st.one_of(
    st.text(),
    st.lists(st.sampled_from(list("./\\\x00\x01\n\r :*?<>|\"") + ["..", "预案", "滑坡", "a", "\u202e", ".pdf"]),
             max_size=40).map("".join),
    st.lists(st.sampled_from(["..", ".", "", "etc", "passwd", "C:", "预案.pdf", "~", "\x00"]), max_size=8).map(
        lambda parts: "/".join(parts)),
)


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_any_name_stays_inside_the_upload_dir(filename):
    with tempfile.TemporaryDirectory() as tmp:
        uploads = Path(tmp) / "uploads"
        uploads.mkdir()
        path = safe_upload_path(uploads, filename)
        _is_safe(uploads, path)
        path.write_bytes(b"ok")  # the name is writable as a single file
        again = safe_upload_path(uploads, filename)
        _is_safe(uploads, again)
        assert again != path  # a taken name is never handed out again


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(categories=("Lo", "Ll", "Lu", "Nd")), min_size=1, max_size=30),
       st.sampled_from([".pdf", ".docx", ".txt", ".md", ".html", ""]))
def test_plain_and_chinese_names_are_kept_unchanged(stem, suffix):
    name = unicodedata.normalize("NFC", stem + suffix)
    assert safe_upload_name(name) == name or len(name.encode()) > MAX_NAME_BYTES or _WINDOWS(name)


def _WINDOWS(name: str) -> bool:
    return name.split(".")[0].lower() in {"con", "prn", "aux", "nul"} or (
        name[:3].lower() in ("com", "lpt") and name[3:4].isdigit())
