"""`python -m smepulse` is the same front door as the `smepulse` script (exit codes included)."""
import subprocess
import sys


def test_python_dash_m_runs_the_cli():
    ok = subprocess.run([sys.executable, "-m", "smepulse", "methodologies"], capture_output=True, text=True)
    assert ok.returncode == 0 and "smei" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "smepulse", "compute", "--responses", "/nonexistent.csv",
                          "--out", "/tmp/x.csv"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr + bad.stdout


def test_every_registered_command_is_listed_and_loads_lazily():
    """COMMANDS (the lazy table) names exactly the commands each module registers, and listing the commands
    imports none of the heavy pillars."""
    from smepulse import cli

    for module in set(cli.COMMANDS.values()):
        registered = set(cli._commands_of(module).commands)
        assert registered == {c for c, m in cli.COMMANDS.items() if m == module}, module
    code = ("import sys; from smepulse.cli import run; run(['methodologies']); "
            "print(sorted(m for m in ('lightgbm', 'fastapi', 'weasyprint', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out
