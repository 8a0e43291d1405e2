"""Downloads against a local HTTP server on 127.0.0.1: verify, cache, mirror, and failures that keep nothing."""

import hashlib
import http.server
import threading

import pytest

from textlstm.download import DownloadError, cache_dir, fetch

CONTENT = b"label text\n" * 1000
DIGEST = hashlib.sha256(CONTENT).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves CONTENT at /good.txt, wrong bytes at /corrupt.txt, and half a file at /cut.txt."""

    requests = []

    def do_GET(self):
        Handler.requests.append(self.path)
        body = {"/good.txt": CONTENT, "/corrupt.txt": CONTENT[:-1] + b"X", "/cut.txt": CONTENT}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/cut.txt":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the server drops the connection mid-file
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.requests = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verify_and_reuse_the_cache(server, tmp_path):
    path = fetch("good.txt", f"{server}/good.txt", DIGEST, tmp_path, size=len(CONTENT), progress=False)
    assert path == tmp_path / "good.txt" and path.read_bytes() == CONTENT
    assert Handler.requests == ["/good.txt"]
    again = fetch("good.txt", "http://127.0.0.1:9/unreachable", DIGEST, tmp_path, progress=False)
    assert again == path and Handler.requests == ["/good.txt"]  # no network the second time


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match=f"corrupt.txt: SHA-256 mismatch \\(expected {DIGEST}, got [0-9a-f]{{64}}\\); the file was not kept"):
        fetch("corrupt.txt", f"{server}/corrupt.txt", DIGEST, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_connection_dropped_mid_file_keeps_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="cut.txt: download interrupted after .* bytes .*; nothing was kept"):
        fetch("cut.txt", f"{server}/cut.txt", DIGEST, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_http_error_and_unreachable_host(server, tmp_path):
    with pytest.raises(DownloadError, match="missing.txt: HTTP 404"):
        fetch("missing.txt", f"{server}/missing.txt", DIGEST, tmp_path, progress=False)
    with pytest.raises(DownloadError, match=r"^http://127.0.0.1:9/x.txt: cannot download \(.*\); without a network, --mirror or \$TEXTLSTM_MIRROR names"):
        fetch("x.txt", "http://127.0.0.1:9/x.txt", DIGEST, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_mirror_base_url_and_local_directory(server, tmp_path, monkeypatch):
    fetch("good.txt", "https://example.invalid/good.txt", DIGEST, tmp_path / "a", mirror=server, progress=False)
    assert Handler.requests == ["/good.txt"]
    local = tmp_path / "mirror"
    local.mkdir()
    (local / "good.txt").write_bytes(CONTENT)
    monkeypatch.setenv("TEXTLSTM_MIRROR", str(local))
    assert fetch("good.txt", "https://example.invalid/good.txt", DIGEST, tmp_path / "b", progress=False).read_bytes() == CONTENT
    with pytest.raises(DownloadError, match="other.txt: no such file on the mirror"):
        fetch("other.txt", "https://example.invalid/other.txt", DIGEST, tmp_path / "c", progress=False)


def test_cache_dir_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("TEXTLSTM_CACHE", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("TEXTLSTM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "textlstm"
