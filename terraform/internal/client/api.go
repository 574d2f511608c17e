package client

import (
	"context"
	"net/url"
)

// All reads every page of a list operation.
func All[T any](ctx context.Context, c *Client, op Operation, params []string, query url.Values) ([]T, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", "200")
	var all []T
	for {
		var page List[T]
		if _, err := c.Do(ctx, Call{Op: op, Params: params, Query: q}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

// Me returns the token's user and accounts.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var me Me
	if _, err := c.Do(ctx, Call{Op: OpGetCurrentUser}, &me); err != nil {
		return nil, err
	}
	return &me, nil
}

// Plan returns a plan by id or slug.
func (c *Client) Plan(ctx context.Context, idOrSlug string) (*Plan, error) {
	var p Plan
	if _, err := c.Do(ctx, Call{Op: OpGetPlan, Params: []string{idOrSlug}}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Service returns a service of the account.
func (c *Client) Service(ctx context.Context, account, id string) (*Service, error) {
	var s Service
	if _, err := c.Do(ctx, Call{Op: OpGetService, Params: []string{account, id}}, &s); err != nil {
		return nil, err
	}
	return &s, nil
}
