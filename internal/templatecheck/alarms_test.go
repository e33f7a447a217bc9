package templatecheck

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

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
