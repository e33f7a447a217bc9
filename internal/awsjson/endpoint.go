package awsjson

import "strings"

// partitions are the DNS suffixes of AWS's partitions other than aws, by
// the prefix of their region names, from the SDK's partition table
// (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json, v1.48.0):
// aws-cn, aws-us-gov, aws-eusc (European Sovereign Cloud) and the four
// isolated ones. As there, a region of none of them is in aws. Longer
// prefixes first: "eu-isoe-" before anything that starts "eu-".
var partitions = []struct{ regionPrefix, dnsSuffix string }{
	{"cn-", "amazonaws.com.cn"},
	{"us-gov-", "amazonaws.com"},
	{"eusc-", "amazonaws.eu"},
	{"us-iso-", "c2s.ic.gov"},
	{"us-isob-", "sc2s.sgov.gov"},
	{"us-isof-", "csp.hci.ic.gov"},
	{"eu-isoe-", "cloud.adc-e.uk"},
}

// regionalEndpoint is the service's endpoint in region, as the four
// services' endpoint rules build it when neither FIPS nor dual-stack is
// asked for: https://<prefix>.<region>.<the partition's DNS suffix>.
func regionalEndpoint(service Service, region string) string {
	suffix := "amazonaws.com"
	for _, p := range partitions {
		if strings.HasPrefix(region, p.regionPrefix) {
			suffix = p.dnsSuffix
			break
		}
	}
	return "https://" + service.EndpointPrefix + "." + region + "." + suffix
}

// validRegion reports whether region can be a region name, and so a host
// label: lower-case letters and digits in hyphen-separated words
// ("eu-west-1"). The SDK's endpoint rules refuse other names too.
func validRegion(region string) bool {
	if region == "" || strings.HasPrefix(region, "-") || strings.HasSuffix(region, "-") || strings.Contains(region, "--") {
		return false
	}
	for _, r := range region {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
