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
