"""Makes a copy of a shared library that needs a newer glibc than any machine has.

The copy's version requirements (the ELF section .gnu.version_r) name GLIBC_2.99 where the
original named another GLIBC_2.x of the same length, so the dynamic linker refuses it exactly as
Amazon Linux 2's glibc 2.26 refuses a library built against 2.34: "version `GLIBC_2.99' not found".
Only the name in .dynstr and its hash in the requirement change; nothing else moves."""

import struct

SHT_GNU_VERNEED = 0x6FFFFFFE


def elf_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


def _sections(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        # sh_name sh_type sh_flags sh_addr sh_offset sh_size sh_link sh_info sh_addralign sh_entsize
        yield struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)


def require_glibc(src, dst, new="GLIBC_2.99"):
    """Writes to dst a copy of src whose first GLIBC_2.x requirement as long as `new` becomes `new`.
    Returns the name it replaced."""
    data = bytearray(open(src, "rb").read())
    sections = list(_sections(data))
    verneed = next(s for s in sections if s[1] == SHT_GNU_VERNEED)
    strtab_offset = sections[verneed[6]][4]
    new_b = new.encode()
    offset = verneed[4]
    for _ in range(verneed[7]):  # sh_info: number of Verneed entries
        _version, count, _file, aux, nxt = struct.unpack_from("<HHIII", data, offset)
        a = offset + aux
        for _ in range(count):
            _hash, flags, other, name, anext = struct.unpack_from("<IHHII", data, a)
            at = strtab_offset + name
            old = bytes(data[at:data.index(b"\0", at)])
            if old.startswith(b"GLIBC_2.") and len(old) == len(new_b) and old != new_b:
                data[at:at + len(new_b)] = new_b
                struct.pack_into("<IHH", data, a, elf_hash(new_b), 0, other)
                open(dst, "wb").write(data)
                return old.decode()
            a += anext
        offset += nxt
    raise ValueError(f"{src} requires no GLIBC_2.x version of {len(new_b)} characters")
