"""What can keep a custom workflow from running, in the painter's words."""

from __future__ import annotations

from ...errors import UserError


class WorkflowProblem(UserError):
    """A custom workflow that cannot be read or run as it is."""


class MissingNodes(WorkflowProblem):
    def __init__(self, nodes: list[str]) -> None:
        self.nodes = sorted(set(nodes))
        if len(self.nodes) == 1:
            text = (
                f"This workflow needs the custom node {self.nodes[0]}, which the server does "
                "not have. Install it on the server (ComfyUI-Manager) or choose another workflow."
            )
        else:
            text = (
                f"This workflow needs the custom nodes {_listed(self.nodes)}, which the server "
                "does not have. Install them on the server (ComfyUI-Manager) or choose another "
                "workflow."
            )
        super().__init__(text)


class MissingModels(WorkflowProblem):
    def __init__(self, models: list[tuple[str, str]]) -> None:
        """``models``: (file name, folder under models/) of each file the server lacks."""
        self.models = sorted(set(models))
        lines = [
            f"This workflow uses the model {name} (in models/{folder}), which the server does "
            "not have."
            for name, folder in self.models
        ]
        lines.append(
            "Put the file there on the server, or choose one the server has (in the workflow, "
            "or with --set on the command line)."
        )
        super().__init__("\n".join(lines))


def _listed(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]
