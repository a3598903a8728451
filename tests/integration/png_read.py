"""Render an HTML file with headless Chromium and read the PNG back with the
standard library only (zlib; 8-bit RGB/RGBA, non-interlaced, as Chromium
writes them)."""

import os
import shutil
import struct
import subprocess
import tempfile
import zlib


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("chromium is not installed (tools/deps test)")


def screenshot(html, png, width=1200, height=2400):
    """html: a file path; png: where the screenshot goes."""
    home = tempfile.mkdtemp(prefix="iw-chromium-")
    try:
        p = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--hide-scrollbars", "--user-data-dir=" + home,
             "--window-size=%d,%d" % (width, height),
             "--screenshot=" + png, "file://" + os.path.abspath(html)],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, HOME=home))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if not os.path.exists(png):
        raise AssertionError("chromium wrote no screenshot (%d): %s"
                             % (p.returncode, p.stderr[-2000:]))


def read(path):
    """(width, height, rows of (r, g, b) tuples)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, hdr
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    i = 0
    for _ in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return w, h, rows


def histogram(rows):
    out = {}
    for row in rows:
        for px in row:
            out[px] = out.get(px, 0) + 1
    return out


def near(hist, rgb, tol=12):
    """How many pixels lie within tol of rgb in every channel."""
    return sum(n for px, n in hist.items()
               if all(abs(px[k] - rgb[k]) <= tol for k in range(3)))
