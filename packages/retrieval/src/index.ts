/**
 * Skeleton: filled in by this package's issue. Exports are added here by name.
 */
export const PACKAGE_STATUS = 'skeleton' as const;
