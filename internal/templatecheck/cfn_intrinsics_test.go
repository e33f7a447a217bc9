package templatecheck

import "testing"

func TestIntrinsicsReadInBothForms(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"a short !GetAtt reads as itself", "!GetAtt TokenTable.Arn", "!GetAtt TokenTable.Arn"},
		{"a short !GetAtt with a list reads the same", "!GetAtt [TokenTable, Arn]", "!GetAtt TokenTable.Arn"},
		{"a long Fn::GetAtt reads the same", "{Fn::GetAtt: [TokenTable, Arn]}", "!GetAtt TokenTable.Arn"},
		{"a long Ref reads as !Ref", "{Ref: TokenTable}", "!Ref TokenTable"},
		{"a !Sub string reads as itself", "!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root", "!Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root"},
		{"a quoted star is a plain star", `"*"`, "*"},
		{"a list of plain values reads as a list", "[arm64]", "[arm64]"},
		{"anything else can never match an allowlist", "!Join [':', [a, b]]", "<!Join [':', [a, b]]>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(parseSnippet(t, tc.yaml)); got != tc.want {
				t.Errorf("render(%s) = %q, want %q", tc.yaml, got, tc.want)
			}
		})
	}
}

func TestConditionalValues(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, cond string
		always           bool
	}{
		{"a plain value is always set", "x", "", false},
		{"an !If with both branches set is always set", "!If [C, a, b]", "", false},
		{"an !If with AWS::NoValue is set under its condition", "!If [C, a, !Ref AWS::NoValue]", "C", false},
		{"a long-form Fn::If with AWS::NoValue first is set under its condition", "{Fn::If: [C, {Ref: AWS::NoValue}, a]}", "C", false},
		{"AWS::NoValue alone is never set", "!Ref AWS::NoValue", "always", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cond, always := mayBeAbsent(parseSnippet(t, tc.yaml))
			if cond != tc.cond || always != tc.always {
				t.Errorf("mayBeAbsent(%s) = %q, %v, want %q, %v", tc.yaml, cond, always, tc.cond, tc.always)
			}
		})
	}
}

func TestScenariosTryEveryAllowedValue(t *testing.T) {
	tpl, err := parseTemplate([]byte(`
Parameters:
  Slot: {Type: String, AllowedValues: [A, B]}
  Trust: {Type: String, AllowedValues: ["true", "false"]}
  Free: {Type: String}
Conditions:
  IsA: !Equals [!Ref Slot, A]
  IsB: !Not [!Condition IsA]
  Trusts: !Equals ["true", !Ref Trust]
  BTrusted: !Or [!Condition IsB, !Condition Trusts]
  Both: !And [!Condition IsA, !Condition Trusts]
  OnFree: !Equals [!Ref Free, x]
Value: [a, !If [BTrusted, b, !Ref AWS::NoValue], {k: !If [Both, !Ref AWS::NoValue, v]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	value := at(tpl.root, "Value")
	scens, problems := scenarios(tpl, conditionsUsed(value))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	got := map[string]string{}
	for _, s := range scens {
		v, err := s.resolve(value)
		if err != nil {
			t.Fatal(err)
		}
		got[s.String()] = render(v)
	}
	want := map[string]string{
		"Slot=A, Trust=true":  "[a, b, <{}>]",
		"Slot=A, Trust=false": "[a, <{k: v}>]",
		"Slot=B, Trust=true":  "[a, b, <{k: v}>]",
		"Slot=B, Trust=false": "[a, b, <{k: v}>]",
	}
	if len(got) != len(want) {
		t.Errorf("got scenarios %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("with %s: got %s, want %s", k, got[k], w)
		}
	}
	if _, problems := scenarios(tpl, []string{"OnFree"}); !hasProblem(problems, "depends on Free, which has no AllowedValues") {
		t.Errorf("got problems %q, want Free without AllowedValues", problems)
	}
}
