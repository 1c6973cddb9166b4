"""A real editor: Debian's Neovim 0.7 (headless) drives hover and completion."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lsp.conftest import server_command, write_toml

NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(NVIM is None, reason="nvim is not installed")

LUA = r"""
local out = {}
local cmd = vim.fn.json_decode(vim.fn.readfile(CMD_FILE)[1])
vim.cmd("edit " .. SAMPLE)
local buf = vim.api.nvim_get_current_buf()
local id = vim.lsp.start_client({ name = "teamkb", cmd = cmd, root_dir = ROOT })
vim.lsp.buf_attach_client(buf, id)
local client = vim.lsp.get_client_by_id(id)
vim.wait(60000, function() return client.initialized end, 100)
local uri = vim.uri_from_bufnr(buf)
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover",
  { textDocument = { uri = uri }, position = { line = 0, character = 18 } }, 60000)
local comp = vim.lsp.buf_request_sync(buf, "textDocument/completion",
  { textDocument = { uri = uri }, position = { line = 1, character = 8 } }, 10000)
out.raw = { hover = hover, init = client.initialized }
for _, r in pairs(hover or {}) do out.hover = r.result end
for _, r in pairs(comp or {}) do out.completion = r.result end
vim.fn.writefile({ vim.fn.json_encode(out) }, OUT)
vim.lsp.stop_client(id)
vim.wait(3000, function() return vim.lsp.client_is_stopped(id) end, 100)
vim.cmd("qa!")
"""


def test_neovim_hover_and_completion(home_copy: Path, tmp_path: Path):
    toml = write_toml(home_copy, tmp_path, backend="none")
    sample = tmp_path / "notes.md"
    sample.write_text("Deploys of the ledger-api freeze.\nSee ledg\n", encoding="utf-8")
    cmd_file, out = tmp_path / "cmd.json", tmp_path / "out.json"
    cmd_file.write_text(json.dumps(server_command(toml)), encoding="utf-8")
    header = "".join(f'local {k} = "{v}"\n' for k, v in {
        "CMD_FILE": cmd_file, "SAMPLE": sample, "ROOT": tmp_path, "OUT": out}.items())  # fmt: skip
    script = tmp_path / "drive.lua"
    script.write_text(header + LUA, encoding="utf-8")
    subprocess.run([NVIM, "--headless", "-u", "NONE", "-c", f"luafile {script}"],
                   timeout=180, check=True, capture_output=True)  # fmt: skip
    result = json.loads(out.read_text(encoding="utf-8"))
    value = result["hover"]["contents"]["value"]
    assert "ledger-api" in value and "services/ledger-api.md" in value
    labels = {i["label"] for i in result["completion"]["items"]}
    assert "ledger-api" in labels
