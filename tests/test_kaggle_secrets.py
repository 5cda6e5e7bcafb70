"""No Kaggle secret in any output, log line or file: every Kaggle-related command runs in a
separate process (so that everything the libraries print reaches its real stdout and
stderr) with recognisable fake secrets in its environment, against the fake Kaggle."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_kaggle import CLEARED_VARIABLES, FakeKaggle, environment, standard_datasets

TOKEN = "KGAT_FAKE_token_5f3a9c0e1d2b7a64"
USER = "secret-test-user"
KEY = "sekrit-FAKE-0123456789abcdef"
JSON_KEY = "sekrit-FAKE-json-fedcba9876543210"
SECRETS = (TOKEN, KEY, JSON_KEY, *(base64.b64encode(f"{USER}:{k}".encode()).decode()
                                   for k in (KEY, JSON_KEY)))
HANDLE = "sudalairajkumar/cryptocurrencypricehistory"

# Runs CLI commands in one process, each after its environment changes, logging
# everything at DEBUG to stderr and to a file.
DRIVER = """
import json, logging, os, sys
logging.basicConfig(level=logging.DEBUG, handlers=[
    logging.FileHandler(sys.argv[1]), logging.StreamHandler(sys.stderr)])
from ssots.cli import app
for changes, argv in json.loads(sys.argv[2]):
    for name, value in changes.items():
        os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
    print("$ ssots", *argv, flush=True)
    try:
        app(argv, prog_name="ssots")
    except SystemExit as exit:
        print("exit", exit.code, flush=True)
    except Exception as error:  # shown by typer already; go on with the next command
        print("error", type(error).__name__, error, flush=True)
"""


@pytest.mark.slow
def test_no_secret_in_output_logs_or_files(tmp_path: Path, real_data_dir: Path) -> None:
    fake = FakeKaggle().start()
    for dataset in standard_datasets(real_data_dir):
        fake.add(dataset)
    fake.tokens[TOKEN] = USER
    fake.keys[(USER, JSON_KEY)] = USER
    fake.fail("GetDataset", 429)  # both retried: the retry messages are output too
    fake.fail("DownloadDataset", 503)
    env = {**{k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES},
           **environment(fake, tmp_path), "KAGGLEHUB_VERBOSITY": "debug", "COLUMNS": "200"}
    home = Path(env["SSOTS_HOME"])
    config = Path(env["KAGGLE_CONFIG_DIR"]) / "kaggle.json"  # used once the variables go
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"username": USER, "key": JSON_KEY}))
    config.chmod(0o644)
    train = ["train", "--epochs", "3", "--force", "--output", str(home / "w.json"), "--dataset"]
    token, keys, none = ({"KAGGLE_API_TOKEN": TOKEN},
                         {"KAGGLE_API_TOKEN": None, "KAGGLE_USERNAME": USER, "KAGGLE_KEY": KEY},
                         {"KAGGLE_USERNAME": None, "KAGGLE_KEY": None})
    commands = [
        (token, ["data", "list"]), ({}, ["data", "search", "bitcoin"]),
        ({}, ["data", "auth-check"]), ({}, ["data", "fetch", HANDLE, "--symbol", "BTC"]),
        ({}, ["data", "fetch", "gpreda/crypto-fear-greed-index"]), ({}, ["data", "ls"]),
        ({}, ["data", "fetch", "someone/private-bitcoin"]),
        ({}, ["data", "fetch", "nobody/nothing"]),
        ({}, [*train, f"kaggle:{HANDLE}/coin_Bitcoin.csv"]),
        (keys, ["data", "auth-check"]), ({}, ["data", "search", "bitcoin"]),
        ({}, ["data", "fetch", HANDLE, "--file", "coin_Ethereum.csv"]),
        ({}, [*train, f"kaggle:{HANDLE}/coin_Ethereum.csv", "--demo-fallback"]),
        (none, ["data", "auth-check"]), ({}, ["data", "fetch", HANDLE, "--symbol", "ETH"]),
    ]
    log = home / "logs" / "driver.log"
    log.parent.mkdir(parents=True)
    try:
        completed = subprocess.run(
            [sys.executable, "-c", DRIVER, str(log), json.dumps(commands)],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )
    finally:
        fake.stop()
    output = completed.stdout + completed.stderr

    # The commands really ran, with the secrets really sent.
    for shown in ("Registered kaggle:sudalairajkumar", "retrying",
                  "Kaggle accepts them (user secret-test-user)",
                  "Kaggle rejected the credentials", "SYNTHETIC DATA",
                  "readable by group or others"):
        assert shown in output, output
    assert {"bearer", "basic"} <= set(fake.auth_seen)

    files = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.suffix == ".db" for path in files)
    assert any("kagglehub" in path.parts for path in files)
    for secret in SECRETS:
        assert secret not in output
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"{secret} in {path}"
