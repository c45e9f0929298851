#!/usr/bin/python3
"""Read VHD/VHDX images through libvhdi (pyvhdi) for hvsim interop tests.

Usage:  /usr/bin/python3 pyvhdi_read.py <command> <json>
        /usr/bin/python3 pyvhdi_read.py <command> -        (JSON on stdin)

Commands and JSON fields (all paths are plain data, never shell-expanded):
  version  {}                                        -> JSON {"version": "..."} on stdout
  info     {"path", "parents"}                       -> JSON object on stdout
  read     {"path", "parents", "offset", "length",   -> raw bytes on stdout, or written to
            "out"?}                                     "out" (a file path) if given
  dump     {"path", "parents", "out"}                -> whole virtual disk written to "out"

"parents" is the parent chain, nearest parent first: for top -> mid -> base pass
path=top, parents=[mid, base]. Each file is opened read-only and linked with
child.set_parent(parent). libvhdi checks the link when set_parent is called:
the child's recorded parent identifier (VHD: dynamic-header ParentUniqueId,
VHDX: parent locator "parent_linkage") must equal the parent's identifier
(VHD: footer UniqueId, VHDX: DataWriteGuid of the current header), otherwise
it fails with "mismatch in identifier".

On failure: exactly one line "pyvhdi_read: <message>" on stderr, exit 1
(exit 2 for usage errors). Nothing partial is written to stdout on error for
"read" (the data is read completely before it is written).
"""

import json
import sys

CHUNK = 16 * 1024 * 1024


class UsageError(Exception):
    pass


def fail(message, code):
    line = " ".join(str(message).split())
    sys.stderr.write("pyvhdi_read: %s\n" % line)
    sys.stderr.flush()
    sys.exit(code)


def load_args(argv):
    if len(argv) != 3:
        raise UsageError("usage: pyvhdi_read.py <version|info|read|dump> <json|->")
    raw = sys.stdin.read() if argv[2] == "-" else argv[2]
    try:
        args = json.loads(raw)
    except ValueError as exc:
        raise UsageError("invalid JSON arguments: %s" % exc)
    if not isinstance(args, dict):
        raise UsageError("JSON arguments must be an object")
    return argv[1], args


def want_str(args, key):
    value = args.get(key)
    if not isinstance(value, str) or value == "":
        raise UsageError("%r must be a non-empty string" % key)
    return value


def want_int(args, key):
    value = args.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UsageError("%r must be a non-negative integer" % key)
    return value


def want_parents(args):
    parents = args.get("parents", [])
    if not isinstance(parents, list) or not all(isinstance(p, str) and p for p in parents):
        raise UsageError("'parents' must be a list of non-empty strings")
    return parents


def open_chain(pyvhdi, path, parents):
    """Open path and its parents; returns the list of file objects, child first.

    pyvhdi does NOT keep a Python reference to the parent passed to set_parent:
    if the parent object is garbage collected it is closed and reads through the
    child fail ("missing file IO handle"). The caller must keep the returned list
    alive for as long as it reads.
    """
    files = []
    for p in [path] + parents:
        f = pyvhdi.file()
        try:
            f.open(p)
        except Exception as exc:
            raise RuntimeError("cannot open %s: %s" % (p, exc))
        files.append(f)
    for i in range(len(files) - 1):
        try:
            files[i].set_parent(files[i + 1])
        except Exception as exc:
            names = [path] + parents
            raise RuntimeError("set_parent(%s <- %s) failed: %s" % (names[i], names[i + 1], exc))
    last = files[-1]
    if last.get_disk_type() == pyvhdi.disk_types.DIFFERENTIAL:
        raise RuntimeError(
            "%s is a differencing disk but no parent was given for it (parent filename: %s)"
            % (([path] + parents)[-1], last.get_parent_filename())
        )
    return files


def close_chain(files):
    for f in files:
        try:
            f.close()
        except Exception:
            pass


def file_type(path):
    with open(path, "rb") as fh:
        return "vhdx" if fh.read(8) == b"vhdxfile" else "vhd"


def read_exact(f, offset, length):
    parts = []
    done = 0
    while done < length:
        n = min(CHUNK, length - done)
        buf = f.read_buffer_at_offset(n, offset + done)
        if not buf:
            raise RuntimeError(
                "short read: got %d of %d bytes at offset %d (media size %d)"
                % (done, length, offset, f.get_media_size())
            )
        parts.append(buf)
        done += len(buf)
    return b"".join(parts)


def cmd_info(pyvhdi, args):
    path = want_str(args, "path")
    parents = want_parents(args)
    files = open_chain(pyvhdi, path, parents)
    try:
        f = files[0]
        code = f.get_disk_type()
        names = {
            pyvhdi.disk_types.FIXED: "fixed",
            pyvhdi.disk_types.DYNAMIC: "dynamic",
            pyvhdi.disk_types.DIFFERENTIAL: "differencing",
        }
        info = {
            "fileType": file_type(path),
            "mediaSize": f.get_media_size(),
            "bytesPerSector": f.get_bytes_per_sector(),
            "diskType": names.get(code, "unknown"),
            "diskTypeCode": code,
            "formatVersion": f.get_format_version(),
            "identifier": f.get_identifier(),
            "parentIdentifier": f.get_parent_identifier(),
            "parentFilename": f.get_parent_filename(),
        }
    finally:
        close_chain(files)
    sys.stdout.write(json.dumps(info) + "\n")


def cmd_read(pyvhdi, args):
    path = want_str(args, "path")
    parents = want_parents(args)
    offset = want_int(args, "offset")
    length = want_int(args, "length")
    out = args.get("out")
    if out is not None and (not isinstance(out, str) or out == ""):
        raise UsageError("'out' must be a non-empty string when given")
    files = open_chain(pyvhdi, path, parents)
    try:
        media = files[0].get_media_size()
        if offset + length > media:
            raise RuntimeError(
                "read of %d bytes at offset %d is beyond media size %d" % (length, offset, media)
            )
        data = read_exact(files[0], offset, length)
    finally:
        close_chain(files)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(out, "wb") as fh:
            fh.write(data)


def cmd_dump(pyvhdi, args):
    path = want_str(args, "path")
    parents = want_parents(args)
    out = want_str(args, "out")
    files = open_chain(pyvhdi, path, parents)
    try:
        media = files[0].get_media_size()
        with open(out, "wb") as fh:
            offset = 0
            while offset < media:
                n = min(CHUNK, media - offset)
                fh.write(read_exact(files[0], offset, n))
                offset += n
    finally:
        close_chain(files)


def main(argv):
    try:
        command, args = load_args(argv)
        if command not in ("version", "info", "read", "dump"):
            raise UsageError("unknown command %r" % command)
    except UsageError as exc:
        fail(exc, 2)
    try:
        import pyvhdi
    except Exception as exc:
        fail("cannot import pyvhdi (install python3-libvhdi): %s" % exc, 1)
    try:
        if command == "version":
            sys.stdout.write(json.dumps({"version": pyvhdi.get_version()}) + "\n")
        elif command == "info":
            cmd_info(pyvhdi, args)
        elif command == "read":
            cmd_read(pyvhdi, args)
        else:
            cmd_dump(pyvhdi, args)
    except UsageError as exc:
        fail(exc, 2)
    except Exception as exc:
        fail("%s: %s" % (type(exc).__name__, exc), 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
