"""The inventory of work groups (工作群) and government apps (政务应用) a unit runs: the records and their
services (records), their ledger files (ledgers), and the rules that flag them (rules: quotas by headcount
and level, temporary groups past their end, apps a unit should not run)."""
