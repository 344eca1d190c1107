"""Intake's door: read a class's export (a folder or a zip, from any LMS) student by student.

Every file of the export is attributed to one student by the first rule that recognises its
path (docs/lms.md): the instructor's pattern (``c.FileNameCollectorPlugin.named_regexp``, as for
nbgrader's ``zip_collect``), then Moodle, Canvas and Blackboard names, nbgrader's
``<student>/<assignment>/`` folders, and last a plain ``<student>/<files>`` folder (GitHub
Classroom repositories included). Ids are kept verbatim, whatever their characters; each student
also gets a safe ``key`` for nbgrader's folders. Two students are never merged: Canvas students
are told apart by their user id. A file no rule attributes is an ignored entry with its reason.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import io
import os
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 20 * 1024**2
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's submitted/<student>/<assignment>/timestamp.txt
SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
JUNK = ("__MACOSX", "Thumbs.db", "desktop.ini")

MOODLE = re.compile(r"^(?P<name>.+)_(?P<user_id>\d+)_assign(?:submission|feedback)_[a-z]+_"
                    r"(?P<file>.*)$")
CANVAS = re.compile(r"^(?P<login>[^_]+)_(?:(?P<late>late|LATE)_)?(?P<user_id>\d+)_\d+_"
                    r"(?P<file>.+)$")
BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                        r"(?P<time>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.+)|\.txt)?$")
CANVAS_RESUBMISSION = re.compile(r"-\d+(?=\.ipynb$)")
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.+?)\s*(?:\((?P<user>[^()]+)\))?\s*$", re.M)


class IntakeError(ValueError):
    """The export cannot be read at all (missing, not a zip, a broken archive)."""


@dataclass(frozen=True)
class Identity:
    """Who a submission belongs to, as the LMS named them (kept verbatim for every output)."""

    student_id: str
    lms_user_id: str = ""  # Canvas user id, Moodle participant id
    name: str = ""  # a full name where the export gives one
    source: str = "folder"  # canvas | moodle | blackboard | nbgrader | github | pattern | folder


class Files(Mapping[str, bytes]):
    """A submission's files by name, read from the export only when asked for (never kept):
    intake holds a class of any size in the memory of one student's notebooks."""

    def __init__(self) -> None:
        self._readers: dict[str, Callable[[], bytes]] = {}

    def add(self, name: str, read: Callable[[], bytes]) -> None:
        self._readers[name] = read

    def __getitem__(self, name: str) -> bytes:
        return self._readers[name]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._readers)

    def __len__(self) -> int:
        return len(self._readers)


@dataclass
class Submission:
    """One student's files for one assignment (raw bytes by file name) and what intake noticed.

    ``student`` is the safe key nbgrader's folders use; ``identity`` is who it really is.
    """

    student: str
    files: Mapping[str, bytes] = field(default_factory=Files)
    flags: list[str] = field(default_factory=list)
    identity: Identity | None = None
    submitted_at: datetime.datetime | None = None  # naive UTC, as nbgrader stores times
    time_source: str = ""
    late_marker: bool = False  # the LMS said late (Canvas's late / LATE)

    @property
    def who(self) -> Identity:
        return self.identity or Identity(self.student)


@dataclass
class Intake:
    """What an export holds: one submission per student, and the entries nobody owns."""

    submissions: list[Submission]
    ignored: list[str]
    description: str  # "the zip x.zip", "the folder y/"

    def by_key(self) -> dict[str, Submission]:
        return {s.student: s for s in self.submissions}


@dataclass(frozen=True)
class _Entry:
    parts: tuple[str, ...]
    size: int
    read: Callable[[], bytes]
    mtime: datetime.datetime | None
    problem: str = ""  # why it cannot be anyone's (an unsafe path)


@dataclass
class _Claim:
    identity: Identity
    file: str  # the file's name inside the submission
    time: datetime.datetime | None = None
    time_source: str = ""
    late: bool = False


def collect(path: Path, assignment: str = "", pattern: str = "") -> Intake:
    """Every student of the export at ``path`` (a folder or a zip) for ``assignment``."""
    if not path.exists():
        raise IntakeError(f"{path}: no such file or folder")
    if pattern:
        try:
            groups = re.compile(pattern).groupindex
        except re.error as error:
            raise IntakeError(f"the file pattern {pattern!r} is not a regular expression: "
                              f"{error}") from None
        if "student_id" not in groups:
            raise IntakeError(f"the file pattern {pattern!r} has no (?P<student_id>...) group")
    if path.is_dir():
        entries, description = list(_folder_entries(path)), f"the folder {path}"
    else:
        entries, description = _zip_entries(path), f"the zip {path.name}"
    return _attribute(entries, assignment, pattern, description)


def _folder_entries(root: Path) -> Iterator[_Entry]:
    for file in sorted(root.rglob("*")):
        if file.is_symlink() or not file.is_file():
            continue
        parts = tuple(_readable(p) for p in file.relative_to(root).parts)
        stat = file.stat()
        mtime = datetime.datetime.fromtimestamp(stat.st_mtime, datetime.UTC).replace(tzinfo=None)
        if file.suffix.lower() == ".zip" and stat.st_size <= MAX_FILE_BYTES and \
                zipfile.is_zipfile(file):
            yield from _nested(parts, file.read_bytes)
        else:
            yield _Entry(parts, stat.st_size, file.read_bytes, mtime)


def _readable(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (an export unzipped on another system)
    become U+FFFD, never a lone surrogate that breaks hashing and every CSV."""
    return os.fsencode(name).decode("utf-8", "replace")


def _zip_entries(path: Path) -> list[_Entry]:
    if not zipfile.is_zipfile(path):
        raise IntakeError(f"{path.name} is {_kind(path)}: give a zip (as the LMS exports it) "
                          "or a folder of submissions")
    try:
        return list(_archive_entries((), zipfile.ZipFile(path), nested=True))
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise IntakeError(f"{path.name}: a broken zip ({error})") from None


def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix, kind in ((".tar.gz", "a .tar.gz archive"), (".tgz", "a .tar.gz archive"),
                         (".tar", "a .tar archive"), (".7z", "a 7-Zip archive"),
                         (".rar", "a RAR archive"), (".ipynb", "a single notebook"),
                         (".zip", "a damaged or incomplete zip")):
        if name.endswith(suffix):
            return kind
    return "not an archive"


def _archive_entries(prefix: tuple[str, ...], archive: zipfile.ZipFile,
                     nested: bool) -> Iterator[_Entry]:
    """The files of a zip; a zip inside it is opened too (one level deep)."""
    for info in archive.infolist():
        if info.is_dir():
            continue
        inner = PurePosixPath(info.filename.replace("\\", "/"))
        if inner.is_absolute() or ".." in inner.parts:
            yield _Entry(prefix + (info.filename,), 0, bytes, None, "an unsafe path")
            continue
        mtime = datetime.datetime(*info.date_time)
        read = functools.partial(archive.read, info)
        if nested and inner.suffix.lower() == ".zip" and info.file_size <= MAX_FILE_BYTES:
            yield from _nested(prefix + inner.parts, read)
        else:
            yield _Entry(prefix + inner.parts, info.file_size, read, mtime)


def _nested(parts: tuple[str, ...], read: Callable[[], bytes]) -> Iterator[_Entry]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(read()))
        yield from _archive_entries(parts, archive, nested=False)
    except (zipfile.BadZipFile, OSError, EOFError):
        yield _Entry(parts, 0, bytes, None)


def _attribute(entries: list[_Entry], assignment: str, pattern: str,
               description: str) -> Intake:
    repositories = {e.parts[i - 1] for e in entries for i, part in enumerate(e.parts)
                    if i and part in (".git", ".github")}
    entries = _unwrap([e for e in entries if e.problem or not _junk(e.parts)], assignment,
                      pattern)
    owned = repositories | {e.parts[0] for e in entries if len(e.parts) == 2 and not e.problem
                            and not _recognised(e.parts[0]) and not _recognised(e.parts[1])}
    groups: dict[Identity, list[tuple[_Claim, _Entry]]] = defaultdict(list)
    ignored = []
    for entry in entries:
        if entry.problem:
            ignored.append(f"{'/'.join(entry.parts)}: {entry.problem}")
            continue
        claim = _claim(entry.parts, assignment, pattern, repositories, owned)
        if claim is None:
            ignored.append(f"{'/'.join(entry.parts)}: no student in its path")
            continue
        groups[claim.identity].append((claim, entry))
    keys = _keys(list(groups))
    submissions = [_submission(keys[who], who, claims)
                   for who, claims in groups.items()]
    return Intake(sorted(submissions, key=lambda s: s.student), ignored, description)


def _junk(parts: tuple[str, ...]) -> bool:
    return any(p in JUNK or p.startswith(".") for p in parts)


def _unwrap(entries: list[_Entry], assignment: str, pattern: str) -> list[_Entry]:
    """Drop folders that wrap the whole export (a zip unzipped into a folder, a course folder)."""
    while entries and all(len(e.parts) >= 3 for e in entries):
        first = {e.parts[0] for e in entries}
        if len(first) != 1 or len({e.parts[1] for e in entries}) < 2 or \
                _recognised(entries[0].parts[0]) or next(iter(first)) == assignment or \
                (pattern and any(re.match(pattern, "/".join(e.parts)) for e in entries)):
            break
        entries = [_Entry(e.parts[1:], e.size, e.read, e.mtime) for e in entries]
    return entries


def _recognised(component: str) -> bool:
    return bool(MOODLE.match(component) or CANVAS.match(component)
                or BLACKBOARD.match(component))


def _claim(parts: tuple[str, ...], assignment: str, pattern: str,
           repositories: set[str], owned: set[str]) -> _Claim | None:
    """Whose file this is, and its name inside their submission (None: nobody's)."""
    if pattern and (match := re.match(pattern, "/".join(parts))):
        found = match.groupdict()
        if found.get("student_id"):
            name = " ".join(filter(None, (found.get("first_name"), found.get("last_name"))))
            time = _parse_time(found.get("timestamp") or "")
            return _Claim(Identity(found["student_id"], name=name, source="pattern"),
                          found.get("file_id") or parts[-1], time, "file name" if time else "")
    # A folder that is a student's own (``owned``) is theirs all the way down: a file name in it
    # that looks like an LMS's never makes the file someone else's. Elsewhere the rules are
    # tried at every depth, so an export wrapped in folders, or several in one, is read.
    for i, part in enumerate(parts[:1] if parts[0] in owned else parts):
        rest = "/".join(parts[i + 1:])
        if match := MOODLE.match(part):
            return _Claim(Identity(match["name"], match["user_id"], match["name"], "moodle"),
                          rest or match["file"])
        if match := CANVAS.match(part):
            file = rest or CANVAS_RESUBMISSION.sub("", match["file"])
            return _Claim(Identity(match["login"], match["user_id"], source="canvas"), file,
                          late=bool(match["late"]))
        if match := BLACKBOARD.match(part):
            time = datetime.datetime.strptime(match["time"], "%Y-%m-%d-%H-%M-%S")
            return _Claim(Identity(match["user"], source="blackboard"),
                          rest or match["file"] or "receipt.txt", time, "file name")
        if i + 2 < len(parts) and parts[i + 1] == assignment:
            return _Claim(Identity(part, source="nbgrader"), "/".join(parts[i + 2:]))
    if len(parts) < 2:
        return None
    if parts[0] in repositories or \
            parts[0].lower().startswith(_repository_prefix(assignment)):
        return _Claim(Identity(_github_user(parts[0], assignment), source="github"),
                      "/".join(parts[1:]))
    return _Claim(Identity(parts[0]), "/".join(parts[1:]))


def _github_user(repository: str, assignment: str) -> str:
    """GitHub Classroom names each student's repository ``<assignment-prefix>-<username>``."""
    prefix = _repository_prefix(assignment)
    return repository[len(prefix):] if repository.lower().startswith(prefix) else repository


def _repository_prefix(assignment: str) -> str:
    """``01_forward`` -> ``01-forward-``, as GitHub Classroom slugs an assignment's title."""
    return re.sub(r"[^a-z0-9]+", "-", assignment.lower()).strip("-") + "-"


def _submission(key: str, who: Identity, claims: list[tuple[_Claim, _Entry]]) -> Submission:
    submission = Submission(key, identity=who)
    newest: datetime.datetime | None = None
    for claim, entry in sorted(claims, key=lambda c: (len(c[1].parts), c[1].parts)):
        if claim.late:
            submission.late_marker = True
        if claim.time and not submission.submitted_at:
            submission.submitted_at, submission.time_source = claim.time, claim.time_source
        if entry.mtime and (newest is None or entry.mtime > newest):
            newest = entry.mtime
        name = PurePosixPath(claim.file).name
        if name == TIMESTAMP_FILE and who.source == "nbgrader" and claim.file == TIMESTAMP_FILE:
            time = _parse_time(entry.read().decode("utf-8", "replace"))
            if time:
                submission.submitted_at, submission.time_source = time, TIMESTAMP_FILE
            continue
        if who.source == "blackboard" and name.endswith(".txt") and claim.file == "receipt.txt":
            _read_receipt(submission, entry.read())
            continue
        _add(submission, claim.file, entry)
    if submission.submitted_at is None and newest is not None:
        submission.submitted_at, submission.time_source = newest, "file time"
    return submission


def _read_receipt(submission: Submission, data: bytes) -> None:
    """A Blackboard receipt names the student: keep the name."""
    match = RECEIPT_NAME.search(data.decode("utf-8", "replace"))
    if match and submission.identity:
        identity = submission.identity
        submission.identity = Identity(identity.student_id, identity.lms_user_id,
                                       match["name"], identity.source)


def _add(submission: Submission, path: str, entry: _Entry) -> None:
    name = PurePosixPath(path).name
    if not name.endswith(".ipynb"):
        submission.flags.append(f"ignored file {path} (only notebooks are graded)")
    elif entry.size > MAX_FILE_BYTES:
        submission.flags.append(f"ignored {path}: {entry.size} bytes, over the "
                                f"{MAX_FILE_BYTES} limit")
    elif name in submission.files:
        submission.flags.append(f"two files named {name}: {path} ignored")
    else:
        submission.files.add(name, entry.read)


def _parse_time(text: str) -> datetime.datetime | None:
    """A time as naive UTC (nbgrader's convention), from the formats exports use."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d-%H-%M-%S")
    except ValueError:
        pass
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except (ValueError, OverflowError, TypeError):
        return None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._\-]+", "-", ascii_text).strip("-._")[:40] or "student"


def _keys(identities: list[Identity]) -> dict[Identity, str]:
    """A safe, unique folder name for each student: the id itself when it is one."""
    counts = Counter(i.student_id.lower() for i in identities)
    hashed = {who: f"{_slug(who.student_id)}-" + hashlib.sha1(
        f"{who.student_id}\0{who.lms_user_id}\0{who.source}".encode()).hexdigest()[:8]
        for who in identities}
    taken = {key.lower() for key in hashed.values()}
    keys = {}
    for who in identities:  # an id that spells another student's hashed key is hashed too
        own = who.student_id
        plain = SAFE_KEY.match(own) and counts[own.lower()] == 1 and own.lower() not in taken
        keys[who] = own if plain else hashed[who]
    return keys


def select(intake: Intake, wanted: str) -> list[Submission]:
    """The submissions a ``--student`` argument names: by id, LMS user id or key."""
    return [s for s in intake.submissions
            if wanted in (s.student, s.who.student_id, s.who.lms_user_id)]
