"""Policy rules (three-layer separation, tenancy, secrets, Checkov/Trivy parity) and their runners.

One rule per module in `rules/`; the same objects serve the CrossGuard pack (policies/) and
`shuyaku policy audit` over `pulumi stack export` / `pulumi preview --json` output.
"""
