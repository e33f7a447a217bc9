// Package rotationtest holds tests, and nothing else, of API token rotation
// end to end: the API's handlers, the tokens service, the DynamoDB store on
// DynamoDB Local and the authorizer, all on one clock that the tests move,
// so that the overlap's boundary is checked to the second.
package rotationtest
