package templatecheck

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dcs-access/dcs-access/internal/emf"
	"github.com/dcs-access/dcs-access/internal/pipeline"
)

// CloudWatch's hard limits on a metric-math alarm: "Alarms based on metric
// math expressions can reference a maximum of 10 metrics. This is a hard
// limit that cannot be increased." (Amazon CloudWatch User Guide, "Limits
// that apply to alarms based on metric math expressions",
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html),
// and PutMetricAlarm takes "as many as 10 structures that contain a
// MetricStat parameter ... and as many as 10 structures that contain the
// Expression parameter" (CloudWatch API Reference, PutMetricAlarm, Metrics).
// A template over them fails to deploy.
const (
	maxAlarmMetrics     = 10
	maxAlarmExpressions = 10
)

// onAnyIn5Minutes is an alarm's properties but its metric's: it fires when
// the metric's sum over 5 minutes is 1 or more, and tells the stack's alarm
// topic, when it fires and when it is over.
var onAnyIn5Minutes = map[string]string{
	"Statistic":          "Sum",
	"Period":             "300",
	"EvaluationPeriods":  "1",
	"Threshold":          "1",
	"ComparisonOperator": "GreaterThanOrEqualToThreshold",
	"TreatMissingData":   "notBreaching",
	"AlarmActions":       "[!Ref AlarmTopic]",
	"OKActions":          "[!Ref AlarmTopic]",
}

// onAnyIn5MinutesOf is onAnyIn5Minutes on a metric (Namespace, MetricName,
// Dimensions as renderDimensions writes them).
func onAnyIn5MinutesOf(metric map[string]string) map[string]string {
	out := maps.Clone(onAnyIn5Minutes)
	maps.Copy(out, metric)
	return out
}

// throttleAlarm is every function's throttles alarm but its description:
// one alarm per function, so that adding functions never reaches the
// limits above, all alike. "%s" is the function's logical id.
var throttleAlarm = onAnyIn5MinutesOf(map[string]string{
	"Namespace":  "AWS/Lambda",
	"MetricName": "Throttles",
	"Dimensions": "[FunctionName=!Ref %s]",
})

// throttleAlarmID is the logical id of fnID's throttles alarm:
// CreateTokenFunction's is CreateTokenThrottlesAlarm.
func throttleAlarmID(fnID string) string {
	return strings.TrimSuffix(fnID, "Function") + "ThrottlesAlarm"
}

// identifier is a metric id in a metric-math expression.
var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// alarmedMetric names one metric: "<Namespace> <MetricName> <Dimension>=<value>"
// (one dimension, the only kind these checks look for).
func alarmedMetric(namespace, name, dimension, value string) string {
	return namespace + " " + name + " " + dimension + "=" + value
}

// alarmedMetrics returns every single-dimension metric that some alarm of
// the template alarms on: an alarm's own metric, or a metric of a metric-math
// alarm that it returns or that its returned expression uses.
func alarmedMetrics(tpl *cfnTemplate) map[string]bool {
	out := map[string]bool{}
	add := func(metric *yaml.Node, namespace, name *yaml.Node) {
		dims := items(at(metric, "Dimensions"))
		if len(dims) != 1 {
			return
		}
		out[alarmedMetric(render(namespace), render(name), render(at(dims[0], "Name")), render(at(dims[0], "Value")))] = true
	}
	for _, a := range tpl.ofType("AWS::CloudWatch::Alarm") {
		if a.prop("MetricName") != nil {
			add(at(a.Node, "Properties"), a.prop("Namespace"), a.prop("MetricName"))
			continue
		}
		metrics := items(a.prop("Metrics"))
		used := map[string]bool{}
		for _, m := range metrics {
			if render(at(m, "ReturnData")) == "false" {
				continue
			}
			if expr, ok := plainScalar(at(m, "Expression")); ok {
				for _, id := range identifier.FindAllString(expr, -1) {
					used[id] = true
				}
			}
			if id, ok := plainScalar(at(m, "Id")); ok {
				used[id] = true
			}
		}
		for _, m := range metrics {
			id, _ := plainScalar(at(m, "Id"))
			if metric := at(m, "MetricStat.Metric"); metric != nil && used[id] {
				add(metric, at(metric, "Namespace"), at(metric, "MetricName"))
			}
		}
	}
	return out
}

// checkAlarms checks that every function's throttles raise an alarm, and
// every state machine's failed and timed-out runs.
func checkAlarms(tpl *cfnTemplate) []string {
	alarmed := alarmedMetrics(tpl)
	var problems []string
	for _, fn := range tpl.functions() {
		if m := alarmedMetric("AWS/Lambda", "Throttles", "FunctionName", "!Ref "+fn.ID); !alarmed[m] {
			problems = append(problems, fmt.Sprintf("%s: no alarm on its throttles (%s)", fn.ID, m))
		}
	}
	for _, sm := range tpl.ofType("AWS::Serverless::StateMachine") {
		for _, name := range []string{"ExecutionsFailed", "ExecutionsTimedOut"} {
			if m := alarmedMetric("AWS/States", name, "StateMachineArn", "!Ref "+sm.ID); !alarmed[m] {
				problems = append(problems, fmt.Sprintf("%s: no alarm on its %s (%s)", sm.ID, name, m))
			}
		}
	}
	return problems
}

// checkCountAlarm checks that the alarm id pages on any count of metric in
// 5 minutes, as onAnyIn5Minutes, where the code emits it (internal/emf:
// emf.Namespace, under the stack); missing says what would go unseen.
func checkCountAlarm(tpl *cfnTemplate, id, metric, why, missing string) []string {
	a, ok := tpl.resource(id)
	if !ok || a.Type != "AWS::CloudWatch::Alarm" {
		return []string{fmt.Sprintf("no alarm %s: %s", id, missing)}
	}
	return checkAlarmProperties(a, onAnyIn5MinutesOf(map[string]string{
		"Namespace":  emf.Namespace,
		"MetricName": metric,
		"Dimensions": "[" + emf.StackDimension + "=!Ref AWS::StackName]",
	}), why)
}

// checkExtraMaskingAlarm checks that a second masking job on one copy pages.
func checkExtraMaskingAlarm(tpl *cfnTemplate) []string {
	return checkCountAlarm(tpl, "ExtraMaskingExecutionsAlarm", pipeline.ExtraMaskingExecutionsMetric,
		"a second masking job on a copy pages", "a second masking job on a sandbox copy would be counted and never seen")
}

// checkAlarmLimits checks that no alarm queries more metrics or expressions
// than CloudWatch allows.
func checkAlarmLimits(tpl *cfnTemplate) []string {
	var problems []string
	for _, a := range tpl.ofType("AWS::CloudWatch::Alarm") {
		metrics, expressions := 0, 0
		for _, q := range items(a.prop("Metrics")) {
			if at(q, "MetricStat") != nil {
				metrics++
			}
			if at(q, "Expression") != nil {
				expressions++
			}
		}
		if metrics > maxAlarmMetrics {
			problems = append(problems, fmt.Sprintf("%s queries %d metrics; CloudWatch allows at most %d in an alarm (a hard limit): alarm on fewer, or one alarm each", a.ID, metrics, maxAlarmMetrics))
		}
		if expressions > maxAlarmExpressions {
			problems = append(problems, fmt.Sprintf("%s has %d expressions; CloudWatch allows at most %d in an alarm", a.ID, expressions, maxAlarmExpressions))
		}
	}
	return problems
}

// checkThrottleAlarms checks that each function has its own throttles
// alarm, named after it, and that all of them are throttleAlarm.
func checkThrottleAlarms(tpl *cfnTemplate) []string {
	var problems []string
	for _, fn := range tpl.functions() {
		id := throttleAlarmID(fn.ID)
		a, ok := tpl.resource(id)
		if !ok || a.Type != "AWS::CloudWatch::Alarm" {
			problems = append(problems, fmt.Sprintf("%s: no alarm %s on its throttles", fn.ID, id))
			continue
		}
		want := maps.Clone(throttleAlarm)
		want["Dimensions"] = fmt.Sprintf(want["Dimensions"], fn.ID)
		problems = append(problems, checkAlarmProperties(a, want, "as every function's throttles alarm")...)
	}
	return problems
}

// checkAlarmProperties checks that alarm a sets want's properties as want
// does, and no other but its AlarmDescription; why ends each problem.
func checkAlarmProperties(a resource, want map[string]string, why string) []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got := render(a.prop(name))
		if name == "Dimensions" {
			got = renderDimensions(a.prop(name))
		}
		if got != want[name] {
			problems = append(problems, fmt.Sprintf("%s: %s is %s, want %s (%s)", a.ID, name, got, want[name], why))
		}
	}
	for _, e := range entries(at(a.Node, "Properties")) {
		if _, known := want[e.Key]; !known && e.Key != "AlarmDescription" {
			problems = append(problems, fmt.Sprintf("%s: sets %s (%s)", a.ID, e.Key, why))
		}
	}
	return problems
}

// renderDimensions writes a metric's dimensions as [Name=value, ...].
func renderDimensions(n *yaml.Node) string {
	var parts []string
	for _, d := range items(n) {
		parts = append(parts, render(at(d, "Name"))+"="+render(at(d, "Value")))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
