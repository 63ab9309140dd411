/** Roles and statuses as the CLI offers them (the API checks them again). */
export const ROLES = ['owner', 'admin', 'member']
