package modelgate.posture

import rego.v1

services contains [d, n, s] if {
	some d in input.documents
	d.kind == "compose"
	some n, s in d.content.services
	is_object(s)
}

deny contains f if {
	some [d, n, s] in services
	s.privileged == true
	f := hit("PS-CMP-001", d, d.line, sprintf("service %s is privileged", [n]))
}

deny contains f if {
	some [d, n, s] in services
	root_user(sprintf("%v", [s.user]))
	f := hit("PS-CMP-001", d, d.line, sprintf("service %s runs as user %v", [n, s.user]))
}

# published yields [document, service, host ip, container port spec] for
# the services' ports in the short ("127.0.0.1:8000:8000", "8000:8000/tcp",
# "8000") and the long syntax.
published contains [d, n, ip, target] if {
	some [d, n, s] in services
	some p in object.get(s, "ports", [])
	is_string(p)
	m := regex.find_all_string_submatch_n(`^(?:(\[[^\]]*\]|[0-9]+\.[0-9.]+):)?(?:([0-9-]*):)?([0-9-]+)(?:/[a-z]+)?$`, p, 1)[0]
	ip := m[1]
	target := m[3]
}

published contains [d, n, ip, target] if {
	some [d, n, s] in services
	some p in object.get(s, "ports", [])
	is_number(p)
	ip := ""
	target := sprintf("%v", [p])
}

published contains [d, n, ip, target] if {
	some [d, n, s] in services
	some p in object.get(s, "ports", [])
	is_object(p)
	ip := object.get(p, "host_ip", "")
	target := sprintf("%v", [p.target])
}

all_interfaces(ip) if ip in {"", "0.0.0.0", "[::]", "::"}

# in_ports holds when a port or a range of ports ("8000-8002") includes a
# model-server port.
in_ports(spec) if to_number(spec) in model_ports

in_ports(spec) if {
	[lo, hi] := split(spec, "-")
	some p in model_ports
	p >= to_number(lo)
	p <= to_number(hi)
}

deny contains f if {
	some [d, n, ip, target] in published
	all_interfaces(ip)
	in_ports(target)
	f := hit("PS-CMP-002", d, d.line, sprintf("service %s publishes container port %s on every interface", [n, target]))
}

# environment yields [document, service, name, value] from environment
# maps and lists of NAME=value.
environment contains [d, n, k, v] if {
	some [d, n, s] in services
	is_object(s.environment)
	some k, v in s.environment
}

environment contains [d, n, k, v] if {
	some [d, n, s] in services
	is_array(s.environment)
	some e in s.environment
	contains(e, "=")
	i := indexof(e, "=")
	k := substring(e, 0, i)
	v := substring(e, i + 1, -1)
}

deny contains f if {
	some [d, n, k, v] in environment
	written_credential(k, v)
	f := hit("PS-CMP-003", d, d.line, sprintf("service %s: environment %s has a literal value", [n, k]))
}

deny contains f if {
	some [d, n, s] in services
	is_string(s.image)
	not pinned(s.image)
	f := hit("PS-CMP-004", d, d.line, sprintf("service %s: image %s", [n, s.image]))
}
