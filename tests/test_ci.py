"""Continuous integration runs the README's test command, the same way everywhere."""

import yaml

from dolly_helpers.book import paths


def test_the_workflow_tests_through_what_ci_runs():
    workflow = yaml.safe_load((paths.ROOT / ".github" / "workflows" / "book.yml").read_text())
    runs = [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]
    assert len(runs) == 1 and runs[0].endswith("bash .ci/run")
    assert "--index-url https://download.pytorch.org/whl/cpu" in str(workflow["jobs"]["test"]["steps"])


def test_ci_runs_the_readme_test_command():
    ci = (paths.ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == "make test"
    assert "make test   #" in (paths.ROOT / "README.md").read_text()
