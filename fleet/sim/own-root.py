#!/usr/bin/python3
"""own-root.py CMD...: runs CMD with its root, the machine's or a chroot,
as the root of its mount namespace, every mount private, and a /proc of
its own PID namespace.

A host's init runs this first.  Inside a chroot (as in a fresh-machine
build root) the process's root is not its mount namespace's root, and
nsenter (Ansible's connection) lands in the namespace's root: the
machine's real /, not the chroot.

Called as PID 1 of a fresh mount and PID namespace (unshare --mount
--propagation unchanged --pid --fork), it enters its own mount namespace,
which puts it at the namespace's root, and makes every mount there
private.  If its root was something else (a chroot), it binds that
directory onto itself, pivots into it and detaches the old root.  Then it
mounts a /proc for the new PID namespace and execs CMD.  Nothing leaves
the namespace: the machine's mounts are untouched, and the namespace dies
with its init.  It is done in one process (ctypes, no exec in between)
because between entering the namespace and the pivot only the machine's
root is visible, whose programs are not the chroot's.
"""
import ctypes
import os
import sys

MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
CLONE_NEWNS = 0x20000
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}[os.uname().machine]

libc = ctypes.CDLL(None, use_errno=True)


def call(what, ret):
    if ret != 0:
        err = ctypes.get_errno()
        sys.exit(f"own-root.py: {what}: {os.strerror(err)}")


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: own-root.py CMD [ARG...]")
    # Run anywhere else, it would change the machine's own mounts.
    if os.getpid() != 1:
        sys.exit("own-root.py: not PID 1 of a new PID namespace; run it "
                 "under unshare --mount --pid --fork")
    my_root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    own_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    call("entering its own mount namespace", libc.setns(own_ns, CLONE_NEWNS))
    call("making the mounts private",
         libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None))
    if not os.path.samestat(os.fstat(my_root), os.stat("/")):
        # A chroot, reached from the namespace's root by its real path.
        real = os.readlink(f"/proc/self/fd/{my_root}").encode()
        call("binding the chroot onto itself",
             libc.mount(real, real, None, MS_BIND | MS_REC, None))
        os.chdir(real)
        call("pivot_root into the chroot",
             libc.syscall(SYS_PIVOT_ROOT, b".", b"."))
        call("detaching the old root", libc.umount2(b".", MNT_DETACH))
    os.chdir("/")
    os.close(my_root)
    os.close(own_ns)
    call("mounting /proc", libc.mount(b"proc", b"/proc", b"proc", 0, None))
    os.execvp(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv)
