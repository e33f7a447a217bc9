package localserver

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
)

// invokeRoute serves the Lambda Invoke API (POST
// /2015-03-31/functions/{name}/invocations) for in-process functions, so the
// Step Functions stand-in calls Go task handlers as Step Functions calls
// Lambda. A handler's error is answered as Lambda does: 200, header
// X-Amz-Function-Error, body {"errorType","errorMessage"} with the error's Go
// type name, which is what the state machine's Retry and Catch match.
func invokeRoute[In any](functions map[string]func(context.Context, In) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn, ok := functions[r.PathValue("name")]
		if !ok {
			writeError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+r.PathValue("name"))
			return
		}
		var in In
		if err := json.NewDecoder(io.LimitReader(r.Body, 6<<20)).Decode(&in); err != nil {
			writeFunctionError(w, "InvalidRequestContentException", err.Error())
			return
		}
		out, err := fn(r.Context(), in)
		if err != nil {
			slog.InfoContext(r.Context(), "local function failed", "function", r.PathValue("name"), "errorType", errorType(err), "error", err)
			writeFunctionError(w, errorType(err), err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

func writeFunctionError(w http.ResponseWriter, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Function-Error", "Unhandled")
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errorType, "errorMessage": message})
}

// errorType is the error's type name, as aws-lambda-go reports it.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
