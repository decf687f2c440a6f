"""Kernel files for the VMs: the PVH vmlinux inside a bzImage, and module load order.

Debian ships no modules.dep (depmod runs at install, and we never install the
kernel package), so dependencies are read from each module's own .modinfo
"depends=" field.
"""
import glob
import lzma
import os
import re
import sys

XZ_MAGIC = b"\xfd7zXZ\x00"


def extract_vmlinux(bzimage, out):
    """Write the ELF vmlinux held as an xz stream inside an x86 bzImage."""
    data = open(bzimage, "rb").read()
    start = data.find(XZ_MAGIC)
    while start >= 0:
        try:
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[start:])
        except lzma.LZMAError:
            elf = b""
        if elf.startswith(b"\x7fELF"):
            tmp = out + ".tmp"
            with open(tmp, "wb") as f:
                f.write(elf)
            os.replace(tmp, out)
            return
        start = data.find(XZ_MAGIC, start + 1)
    raise SystemExit(f"{bzimage}: no xz-compressed ELF payload found")


def module_index(root):
    """{module name: path} for every .ko unpacked under root/lib/modules."""
    index = {}
    for path in glob.glob(os.path.join(root, "lib/modules/*/kernel/**/*.ko"), recursive=True):
        name = os.path.basename(path)[:-3].replace("-", "_")
        index[name] = path
    return index


def builtin_modules(root):
    names = set()
    for path in glob.glob(os.path.join(root, "lib/modules/*/modules.builtin")):
        for line in open(path):
            names.add(os.path.basename(line.strip())[:-3].replace("-", "_"))
    return names


def depends(path):
    m = re.search(rb"(?:^|\x00)depends=([^\x00]*)\x00", open(path, "rb").read())
    if not m or not m.group(1):
        return []
    return [d.replace("-", "_") for d in m.group(1).decode().split(",") if d]


def load_order(root, wanted):
    """Paths of the modules in `wanted` and their dependencies, dependencies first.

    Built-in modules are skipped; a module that is neither built in nor
    unpacked is an error naming it (the setup's unpack list must grow).
    """
    index, builtin = module_index(root), builtin_modules(root)
    order, seen = [], set()

    def visit(name, chain):
        name = name.replace("-", "_")
        if name in seen or name in builtin:
            return
        if name not in index:
            raise SystemExit(f"module {name} (needed by {' <- '.join(chain) or 'the scenario'}) "
                             f"is neither built in nor unpacked under {root}")
        seen.add(name)
        for dep in depends(index[name]):
            visit(dep, [name] + chain)
        order.append(index[name])

    for name in wanted:
        visit(name, [])
    return order


def main(argv):
    if len(argv) == 4 and argv[1] == "vmlinux":
        extract_vmlinux(argv[2], argv[3])
    elif len(argv) >= 3 and argv[1] == "modules":
        for p in load_order(argv[2], argv[3:]):
            print(p)
    else:
        raise SystemExit("usage: kernel.py vmlinux BZIMAGE OUT | modules ROOT NAME...")


if __name__ == "__main__":
    main(sys.argv)
