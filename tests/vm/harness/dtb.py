"""A flattened device tree (.dtb) edited in place: enable a disabled node.

The orangepi-pc's device tree (from the kernel package) enables only UART0,
the console. The marker line of the harness needs a second UART the guest's
kernel drives (QEMU's H3 models all four): its node's `status` is changed
from "disabled" to "okay". The new value is NUL-padded to the old length, so
no offset in the blob moves (the kernel compares the string up to its first
NUL: "okay\\0\\0\\0\\0\\0" reads as "okay").

FDT layout (devicetree specification, "Flattened Devicetree Format"): a
40-byte big-endian header, then the structure block of 32-bit tokens
BEGIN_NODE (name, NUL, padded to 4), PROP (len, name offset, value padded
to 4), END_NODE, NOP, END; property names live in the strings block.
"""
import struct

FDT_MAGIC = 0xD00DFEED
BEGIN_NODE, END_NODE, PROP, NOP, END = 1, 2, 3, 4, 9


def _align(n):
    return (n + 3) & ~3


def properties(blob):
    """Yields (node path, property name, value offset, value length)."""
    magic, _total, off_struct, off_strings = struct.unpack(">4I", blob[:16])
    if magic != FDT_MAGIC:
        raise ValueError("not a flattened device tree (bad magic)")

    def string(off):
        start = off_strings + off
        return blob[start:blob.index(b"\0", start)].decode()

    p, path = off_struct, []
    while True:
        (tok,) = struct.unpack(">I", blob[p:p + 4])
        p += 4
        if tok == BEGIN_NODE:
            end = blob.index(b"\0", p)
            path.append(blob[p:end].decode())
            p = _align(end + 1)
        elif tok == END_NODE:
            path.pop()
        elif tok == PROP:
            length, name_off = struct.unpack(">II", blob[p:p + 8])
            p += 8
            yield "/".join(path) or "/", string(name_off), p, length
            p = _align(p + length)
        elif tok == NOP:
            continue
        elif tok == END:
            return
        else:
            raise ValueError(f"bad FDT token {tok:#x} at {p - 4}")


def enable_node(blob, node):
    """A copy of the blob with node `node` (its path without the leading
    slash of the root, e.g. "soc/serial@1c28400") made "okay"."""
    out = bytearray(blob)
    for path, name, off, length in properties(blob):
        if path.lstrip("/") == node and name == "status":
            value = blob[off:off + length]
            if value.rstrip(b"\0") in (b"okay", b"ok"):
                return bytes(out)
            if length < 5:
                raise ValueError(f"{node}: status {value!r} too short to hold 'okay'")
            out[off:off + length] = b"okay".ljust(length, b"\0")
            return bytes(out)
    raise ValueError(f"no status property in node {node}")


def enable_node_file(src, dst, node):
    with open(src, "rb") as f:
        blob = f.read()
    with open(dst, "wb") as f:
        f.write(enable_node(blob, node))
