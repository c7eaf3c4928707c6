"""`python -m smepulse` is the same front door as the `smepulse` script (exit codes included)."""
import subprocess
import sys


def test_python_dash_m_runs_the_cli():
    ok = subprocess.run([sys.executable, "-m", "smepulse", "methodologies"], capture_output=True, text=True)
    assert ok.returncode == 0 and "smei" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "smepulse", "compute", "--responses", "/nonexistent.csv",
                          "--out", "/tmp/x.csv"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr + bad.stdout
