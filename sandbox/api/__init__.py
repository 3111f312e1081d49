"""HTTP API of the stand-in JSM, one blueprint module per group of endpoints.

servicedeskapi (`/rest/servicedeskapi`): `servicedesk_desks` (info, service desks, request types),
`servicedesk_requests` (requests, status, comments, customer transitions, feedback, SLA),
`servicedesk_customers` (participants, organisations, customers), `servicedesk_attachments`
(temporary files, request attachments). Jira platform (`/rest/api/2|3|latest`): `platform_search`
(JQL search), `platform_issues` (issues, transitions, changelog, attachment content),
`platform_comments` (comments and their properties), `platform_metadata` (statuses, priorities,
fields, myself, server info). `plumbing` holds what they share: auth, faults, error shapes, paging.
"""
