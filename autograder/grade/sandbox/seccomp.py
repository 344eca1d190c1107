"""A seccomp filter for the sandbox: the system calls a grading kernel never needs are refused.

Dropping capabilities stops most of what root could do in the sandbox, but not everything: the
kernel keyrings (shared with the host's root and with every later student), ``ptrace`` and
``process_vm_*`` on processes of the same user, new namespaces, ``io_uring`` (which bypasses
seccomp for the calls it runs), and the administration calls. bubblewrap loads this filter
(``--seccomp FD``) before it starts the sandboxed program. The filter is classic BPF, built here
(x86-64 only; elsewhere the sandbox runs without it).
"""

from __future__ import annotations

import atexit
import os
import platform
import struct
import tempfile
from functools import cache
from pathlib import Path

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
# x86-64 system call numbers, refused with EPERM.
REFUSED = {
    "ptrace": 101, "syslog": 103, "vhangup": 153, "pivot_root": 155, "adjtimex": 159,
    "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167,
    "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "fanotify_init": 300, "open_by_handle_at": 304, "clock_adjtime": 305,
    "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}
CLONE, CLONE3, FCNTL, FLOCK = 56, 435, 72, 73
# fcntl's record locks (F_GETLK, F_SETLK, F_SETLKW and their "open file description" forms):
# two sandboxes share the inodes of the files they read, so locks would be a channel between
# them (a sealed and an unsealed re-check, two students graded at once).
LOCK_COMMANDS = (5, 6, 7, 36, 37, 38)
# clone with any of these flags makes a namespace: refused (CLONE_NEWNS ... CLONE_NEWNET).
NAMESPACE_FLAGS = 0x7E020000
EPERM, ENOSYS = 1, 38

# Classic BPF opcodes and seccomp return values.
LD_W_ABS, JEQ_K, JGE_K, JSET_K, RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
NR, ARCH, ARG0, ARG1 = 0, 4, 16, 24  # offsets in struct seccomp_data


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program() -> bytes:
    """The filter: other architectures and the x32 ABI refused, the calls above refused, file
    locks refused (``flock``, fcntl's lock commands), ``clone3`` answered ENOSYS (the C library
    then uses ``clone``, whose flags can be read), ``clone`` with namespace flags refused,
    everything else allowed."""
    deny, allow = _op(RET_K, RET_ERRNO | EPERM), _op(RET_K, RET_ALLOW)
    body = [_op(LD_W_ABS, ARCH), _op(JEQ_K, AUDIT_ARCH_X86_64, jt=1), deny,
            _op(LD_W_ABS, NR), _op(JGE_K, X32_SYSCALL_BIT, jf=1), deny]
    for number in sorted(REFUSED.values()):
        body += [_op(JEQ_K, number, jf=1), deny]
    body += [_op(JEQ_K, FLOCK, jf=1), deny]
    locks = [_op(JEQ_K, command, jt=len(LOCK_COMMANDS) - i) for i, command in
             enumerate(LOCK_COMMANDS)]  # each jumps over the rest and the allow, to the deny
    body += [_op(JEQ_K, FCNTL, jf=len(locks) + 3), _op(LD_W_ABS, ARG1), *locks, allow, deny]
    body += [_op(JEQ_K, CLONE3, jf=1), _op(RET_K, RET_ERRNO | ENOSYS),
             _op(JEQ_K, CLONE, jf=3), _op(LD_W_ABS, ARG0), _op(JSET_K, NAMESPACE_FLAGS, jf=1),
             deny, allow]
    return b"".join(body)


@cache
def filter_file() -> Path | None:
    """The compiled filter in a file of this process (None where it does not apply)."""
    if platform.machine() != "x86_64":
        return None
    handle, name = tempfile.mkstemp(prefix="sandbox-seccomp-", suffix=".bpf")
    with os.fdopen(handle, "wb") as file:
        file.write(program())
    atexit.register(Path(name).unlink, missing_ok=True)
    return Path(name)
