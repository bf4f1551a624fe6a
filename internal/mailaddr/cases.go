package mailaddr

// Case is an address and what Parse makes of it ("" for a refusal).
type Case struct{ In, Want string }

// Cases are the addresses the rule is pinned by, valid and invalid; tests of the packages that
// apply the rule (the bus's JSON Schema, registration) check them too.
var Cases = []Case{
	{"ann@example.com", "ann@example.com"},
	{"Ann.Lee+tickets@Mail.Example.COM", "Ann.Lee+tickets@mail.example.com"},
	{"o'brien@example.ie", "o'brien@example.ie"},
	{"zoë+tix@mail.example.org", "zoë+tix@mail.example.org"},
	{"a-b_c@sub-domain.example.co.uk", "a-b_c@sub-domain.example.co.uk"},
	{"dot.@example.test", ""},
	{".dot@example.test", ""},
	{"a..b@example.test", ""},
	{"<someone@example.test>", ""},
	{"Some One <someone@example.test>", ""},
	{"someone@example.test (comment)", ""},
	{`"a b"@example.test`, ""},
	{" ann@example.com", ""},
	{"ann@example.com ", ""},
	{"ann@example.com,bob@example.com", ""},
	{"ann@localhost", ""},
	{"ann@[127.0.0.1]", ""},
	{"ann@-example.com", ""},
	{"ann@example-.com", ""},
	{"ann@example..com", ""},
	{"ann@example.com.", ""},
	{"ann@192.168.1.1", ""},
	{"ann@exa_mple.com", ""},
	{"ann", ""},
	{"@example.com", ""},
	{"ann@", ""},
	{"", ""},
	{"ann\r\n@example.com", ""},
}
