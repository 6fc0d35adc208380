"""The admin web console: the gateway's state and workflows in a browser, in Chinese and English.

It is a client of the gateway's own gRPC API (gateway.console.api), never of its database: every
page is what the Admin, Onboarding, Keys, Audit, Recognition and Facilitation services answer to
the signed-in user, and every action is one of their calls, authorised and audited by the
gateway as that user (docs/console.md).
"""
