package modelgate.posture

import rego.v1

dockerfiles contains d if {
	some d in input.documents
	d.kind == "dockerfile"
}

final_stage(d) := d.content.stages[count(d.content.stages) - 1]

stage_names(d) := {s.name | some s in d.content.stages; s.name != ""}

# The user the final stage runs as: its last USER, or root.
final_user(d) := u if {
	users := [i.args[0] | some i in final_stage(d).instructions; i.cmd == "user"]
	count(users) > 0
	u := users[count(users) - 1]
}

final_user(d) := "root" if {
	not any_user(d)
}

any_user(d) if {
	some i in final_stage(d).instructions
	i.cmd == "user"
}

root_user(u) if lower(u) in {"root", "0", "0:0", "root:root"}

root_user(u) if startswith(u, "0:")

deny contains f if {
	some d in dockerfiles
	s := final_stage(d)
	u := final_user(d)
	root_user(u)
	f := hit("PS-DF-001", d, s.line, sprintf("the final stage (FROM %s) runs as %s", [s.image, u]))
}

deny contains f if {
	some d in dockerfiles
	some s in d.content.stages
	img := s.image
	lower(img) != "scratch"
	not lower(img) in stage_names(d)
	not pinned(img)
	f := hit("PS-DF-002", d, s.line, sprintf("FROM %s", [img]))
}

# ENV NAME=value and ARG NAME[=default]: the parser gives ENV as name,
# value pairs and ARG as NAME[=default] words.
env_pairs(i) := {[i.args[k], i.args[k + 1]] | some k in numbers.range(0, count(i.args) - 2); k % 2 == 0} if i.cmd == "env"

env_pairs(i) := {[split(a, "=")[0], substring(a, count(split(a, "=")[0]) + 1, -1)] | some a in i.args} if i.cmd == "arg"

# Whatever its value (a default, or ${VAR} filled at build time), a
# credential in ENV or ARG stays in the image or its history.
baked_credential(n, _) if secret_name(n)

baked_credential(_, v) if secret_value(v)

deny contains f if {
	some d in dockerfiles
	some s in array.concat([{"instructions": d.content.global}], d.content.stages)
	some i in s.instructions
	i.cmd in {"env", "arg"}
	some [n, v] in env_pairs(i)
	baked_credential(n, v)
	f := hit("PS-DF-003", d, i.line, sprintf("%s %s", [upper(i.cmd), n]))
}

# PS-DF-004: what the build downloads must be what was reviewed: ADD of a
# URL without --checksum, or a download piped into a shell.
deny contains f if {
	some d in dockerfiles
	some s in d.content.stages
	some i in s.instructions
	i.cmd == "add"
	some a in array.slice(i.args, 0, count(i.args) - 1)
	regex.match(`^https?://`, a)
	not checksummed(i)
	f := hit("PS-DF-004", d, i.line, sprintf("ADD %s without --checksum", [a]))
}

checksummed(i) if {
	some fl in i.flags
	startswith(fl, "--checksum=")
}

deny contains f if {
	some d in dockerfiles
	some s in d.content.stages
	some i in s.instructions
	i.cmd == "run"
	regex.match(`(curl|wget)[^|;&]*\|\s*(sudo\s+)?(ba|z|da)?sh\b`, concat(" ", i.args))
	f := hit("PS-DF-004", d, i.line, "a download piped into a shell")
}
