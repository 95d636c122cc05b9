namespace CleanCrm.Domain; public static class Placeholder {}
