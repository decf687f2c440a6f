"""A newc cpio initramfs written directly (no cpio, no root, no device nodes:
the guest mounts devtmpfs itself)."""
import os
import stat


class Cpio:
    def __init__(self):
        self.entries = {}  # path -> (mode, data or link target)

    def _dirs(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            self.entries.setdefault(d, (stat.S_IFDIR | 0o755, b""))

    def dir(self, path):
        self._dirs(path + "/x")

    def file(self, path, data, mode=0o644):
        if isinstance(data, str):
            data = data.encode()
        path = path.strip("/")
        self._dirs(path)
        self.entries[path] = (stat.S_IFREG | mode, data)

    def copy(self, path, src, mode=None):
        with open(src, "rb") as f:
            data = f.read()
        self.file(path, data, mode if mode is not None else (os.stat(src).st_mode & 0o777))

    def chardev(self, path, major, minor, mode=0o600):
        path = path.strip("/")
        self._dirs(path)
        self.entries[path] = (stat.S_IFCHR | mode, (major, minor))

    def symlink(self, path, target):
        path = path.strip("/")
        self._dirs(path)
        self.entries[path] = (stat.S_IFLNK | 0o777, target.encode())

    def write(self, out):
        ino = 1
        with open(out, "wb") as f:
            def emit(name, mode, data):
                nonlocal ino
                rdev = (0, 0)
                if isinstance(data, tuple):
                    rdev, data = data, b""
                nb = name.encode() + b"\0"
                hdr = "070701" + "".join(f"{v:08x}" for v in (
                    ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0))
                f.write(hdr.encode() + nb)
                f.write(b"\0" * ((4 - (110 + len(nb)) % 4) % 4))
                f.write(data)
                f.write(b"\0" * ((4 - len(data) % 4) % 4))
                ino += 1
            for name in sorted(self.entries):
                mode, data = self.entries[name]
                emit(name, mode, data)
            emit("TRAILER!!!", 0, b"")
